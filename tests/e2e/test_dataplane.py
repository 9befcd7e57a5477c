"""The simulated ECS data plane: one broken service never stops the rest of the cluster."""
from __future__ import annotations

import time

from cutover.local import snapshot


def _service_behind_new_group(demo, name: str) -> str:
    elb, ecs = demo.client("elbv2"), demo.client("ecs")
    group = elb.create_target_group(Name=name, Protocol="HTTP", Port=8080, VpcId=demo.env.values["VPC"],
                                    TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    ecs.create_service(
        cluster="demo", serviceName=name, taskDefinition=demo.service("web-1")["taskDefinition"], desiredCount=2,
        launchType="FARGATE", loadBalancers=[{"targetGroupArn": group, "containerName": "web", "containerPort": 8080}],
        networkConfiguration={"awsvpcConfiguration": {"subnets": [demo.env.values["SUBNET_A"]],
                                                      "securityGroups": [demo.env.values["SECURITY_GROUP"]]}},
    )
    return group


def _healthy(demo, group: str) -> int:
    health = demo.client("elbv2").describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    return sum(1 for d in health if d["TargetHealth"]["State"] == "healthy")


def test_a_service_pointing_at_a_deleted_target_group_does_not_stop_the_others(demo):
    # Given a service whose target group was deleted under it (ECS keeps the reference)
    broken = _service_behind_new_group(demo, "broken")
    demo.client("elbv2").delete_target_group(TargetGroupArn=broken)
    before = snapshot.take(demo.client)
    # When another service is created after it in the same cluster
    fresh = _service_behind_new_group(demo, "fresh")
    # Then the new service's tasks still start and register, as they would on AWS
    deadline = time.time() + 60
    while _healthy(demo, fresh) < 2 and time.time() < deadline:
        time.sleep(0.2)
    assert _healthy(demo, fresh) == 2
    # And nothing else in the account changed (live version 1 keeps its two targets)
    changed = {(c.kind, c.key) for c in snapshot.diff(before, snapshot.take(demo.client))}
    assert changed == {("service", "demo/fresh"), ("target_group", "fresh")}
    live = demo.client("elbv2").describe_target_groups(Names=["demo-web-1"])["TargetGroups"][0]["TargetGroupArn"]
    assert _healthy(demo, live) == 2
