"""The simulated ECS data plane: one broken service never stops the rest of the cluster, and a
change after a quiet spell (when it waits for a write rather than looking) still reaches it."""
from __future__ import annotations

import time

from cutover.local import dataplane, snapshot


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


def _targets(demo, group_name: str) -> int:
    group = demo.client("elbv2").describe_target_groups(Names=[group_name])["TargetGroups"][0]["TargetGroupArn"]
    return _healthy(demo, group)


def _until(check, timeout: float = 30) -> bool:
    deadline = time.time() + timeout
    while not check() and time.time() < deadline:
        time.sleep(0.1)
    return check()


def test_a_service_scaled_after_a_quiet_spell_gets_its_tasks(demo):
    # Given version 1 serving with its two tasks, and nothing changing for longer than the data plane
    # waits between looks when every service has its tasks
    time.sleep(dataplane.IDLE_SECONDS * 1.5)
    # When its desired count is raised
    demo.client("ecs").update_service(cluster="demo", service="web-1", desiredCount=4)
    # Then the two more tasks start and register, as ECS would start them
    assert _until(lambda: _targets(demo, "demo-web-1") == 4)


def test_a_service_whose_tasks_start_failing_loses_its_targets(demo):
    # Given a second service serving its two tasks (not behind the public rule), and a quiet spell
    group = _service_behind_new_group(demo, "other")
    assert _until(lambda: _healthy(demo, group) == 2)
    time.sleep(dataplane.IDLE_SECONDS * 1.5)
    # When its tasks start crashing (a change no AWS call makes)
    demo.engine.data_plane.failing.add("other")
    # Then its targets leave the group, as crashed tasks' would
    assert _until(lambda: _healthy(demo, group) == 0)
    # And come back once its tasks start again
    demo.engine.data_plane.failing.discard("other")
    assert _until(lambda: _healthy(demo, group) == 2)
