"""Releases that AWS would refuse half-way unless the release does it right, through the real
definition on the local engine that enforces AWS's rules (docs/fidelity.md)."""
from __future__ import annotations

from cutover.local import aws_rules
from cutover_steps.steps import load_release as load
from tests.e2e.safety_fixtures import config_with, entered, finish, lock_item, start


def test_an_execution_name_with_characters_tags_refuse_still_releases(demo):
    # Given an execution name with characters ELB and ECS tags refuse (the engine refuses such tags)
    name = "release-2(retry)"

    # When v2 is released under it
    result = demo.release("2", name=name)

    # Then the release succeeds: no tag value is built from the raw execution name
    assert result["status"] == "SUCCEEDED", result.get("cause")
    service_tags = {t["key"]: t["value"] for t in demo.service("web-2")["tags"]}
    elbv2 = demo.client("elbv2")
    group = elbv2.describe_target_groups(Names=["demo-web-2"])["TargetGroups"][0]["TargetGroupArn"]
    group_tags = {t["Key"]: t["Value"] for t in elbv2.describe_tags(ResourceArns=[group])["TagDescriptions"][0]["Tags"]}
    assert service_tags["cutover:release"] == group_tags["cutover:release"]
    assert not any(c in value for value in service_tags.values() for c in "()")


def test_request_count_scaling_is_registered_with_the_new_target_groups_resource_label(demo):
    # Given autoscaling on ALB requests per target
    config = config_with(demo)
    config["service_settings"]["autoscaling"]["policies"] = [
        {"name": "requests", "metric": "ALBRequestCountPerTarget", "target": 500}]

    # When v2 is released
    result = finish(demo, start(demo, "2", config))

    # Then AWS's required label names the load balancer and v2's target group
    assert result["status"] == "SUCCEEDED", result.get("cause")
    policy = demo.client("application-autoscaling").describe_scaling_policies(
        ServiceNamespace="ecs", ResourceId="service/demo/web-2")["ScalingPolicies"][0]
    label = policy["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]["ResourceLabel"]
    group = demo.client("elbv2").describe_target_groups(Names=["demo-web-2"])["TargetGroups"][0]["TargetGroupArn"]
    balancer = demo.env.albs[0].arn.split(":loadbalancer/")[1]
    assert label == f"{balancer}/{group.split(':')[-1]}"


def test_traffic_shifts_keep_the_rules_target_group_stickiness(demo):
    # Given a public rule whose forward keeps clients on one target group for an hour
    elbv2 = demo.client("elbv2")
    v1 = elbv2.describe_target_groups(Names=["demo-web-1"])["TargetGroups"][0]["TargetGroupArn"]
    sticky = {"Enabled": True, "DurationSeconds": 3600}
    elbv2.modify_rule(RuleArn=demo.public_rule, Actions=[{"Type": "forward", "ForwardConfig": {
        "TargetGroups": [{"TargetGroupArn": v1, "Weight": 1}], "TargetGroupStickinessConfig": sticky}}])

    # When v2 is released
    result = finish(demo, start(demo, "2", config_with(demo)))

    # Then the public rule forwards to v2 and is still sticky
    assert result["status"] == "SUCCEEDED", result.get("cause")
    forward = next(a for a in elbv2.describe_rules(RuleArns=[demo.public_rule])["Rules"][0]["Actions"] if a["Type"] == "forward")
    assert forward["ForwardConfig"]["TargetGroupStickinessConfig"] == sticky
    assert demo.forward(demo.public_rule) == {"demo-web-2": 1}


def fail_and_delete_v2(demo) -> None:
    """A release of v2 that never gets healthy, with a config that deletes what it prepared."""
    demo.engine.data_plane.failing.add("web-2")
    result = finish(demo, start(demo, "2", config_with(demo, health_timeout_seconds=2, on_prepare_failure="delete"), name="v2-first"))
    assert result["error"] == "HealthTimeout", result.get("cause")
    demo.engine.data_plane.failing.discard("web-2")


def test_releasing_again_a_version_whose_service_is_draining_waits_for_its_name(demo):
    # Given v2's service was just deleted and drains (briefly, as the engine is set)
    fail_and_delete_v2(demo)

    # When v2 is released again at once
    result = finish(demo, start(demo, "2", config_with(demo), name="v2-again"))

    # Then validation waits for the name to be free and the release succeeds
    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert demo.service("web-2")["desiredCount"] == 2


def test_the_same_input_started_again_after_a_deleting_teardown_creates_the_service_anew(demo):
    # Given v2 failed its preparation and the teardown deleted its service and target groups
    config = config_with(demo, health_timeout_seconds=10, on_prepare_failure="delete")
    demo.engine.data_plane.failing.add("web-2")
    assert finish(demo, start(demo, "2", config, name="v2-first"))["error"] == "HealthTimeout"
    demo.engine.data_plane.failing.discard("web-2")

    # When the very same input is started again: new target groups, so another CreateService request
    result = finish(demo, start(demo, "2", config, name="v2-again"))

    # Then ECS takes it (a client token stands for one request only) and the release succeeds
    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert demo.service("web-2")["desiredCount"] == 2


def test_a_service_still_draining_is_refused_before_the_lock_with_what_to_do(demo, monkeypatch):
    # Given v2's service was just deleted and drains longer than validation waits
    monkeypatch.setattr(aws_rules, "service_drain_seconds", 600)
    monkeypatch.setattr(load, "DRAIN_WAIT_SECONDS", 0)
    fail_and_delete_v2(demo)

    # When v2 is released again
    arn = start(demo, "2", config_with(demo), name="v2-again")
    result = finish(demo, arn)

    # Then it is refused as input, before the lock, saying why and what to do
    assert result["error"] == "InvalidReleaseInput"
    assert "web-2 was deleted recently and is still DRAINING" in result["cause"]
    assert "Start the release again" in result["cause"]
    assert "Lock the service" not in entered(demo, arn)
    assert lock_item(demo) is None
