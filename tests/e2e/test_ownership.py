"""Touch only what this release owns: names that never collide, ownership by tags, checked against
a snapshot of the whole emulated account before and after."""
from __future__ import annotations

import time

from cutover.operations import executions as operations
from cutover.local import faults, snapshot
from cutover_steps.plan import naming
from cutover_steps.errors import ReleaseError
from tests.e2e.safety_fixtures import config_with, entered, finish, lock_item, start, tags

V1 = ("demo", "web", "1")


class Broken(ReleaseError):
    """A step failure made on purpose."""


def test_a_failed_release_of_1_2_hyphenated_leaves_version_1_dot_2_alone(demo):
    # Given version 1.2 released over 1, so 1 is retired and 1.2 serves
    assert demo.release("1.2", config=config_with(demo))["status"] == "SUCCEEDED"
    before = snapshot.take(demo.client)
    # When 1-2 (whose readable name is 1.2's) fails after its target group exists, with delete on failure
    config = config_with(demo, on_prepare_failure="delete")
    with faults.refuse("RegisterTaskDefinition", Broken("registry unreachable")):
        result = finish(demo, start(demo, "1-2", config))
    # Then it failed and undid only its own work
    assert result["status"] == "FAILED" and result["error"] == "Broken", result.get("cause")
    after = snapshot.take(demo.client)
    assert snapshot.changes_outside(before, after, [("demo", "web", "1-2")], rules=[demo.preparing_rule]) == []
    # 1.2 still serves behind the public rule, with its own target group and service
    assert demo.forward(demo.public_rule) == {naming.target_group_name("demo", "web", "1.2"): 1}
    assert demo.service(naming.service_name("web", "1.2"))["desiredCount"] == 2
    # and 1-2's own target group, which it created, is gone
    assert naming.target_group_name("demo", "web", "1-2") not in demo.target_group_names()
    assert lock_item(demo) is None


def test_a_name_someone_else_holds_is_refused_before_the_lock(demo):
    # Given a target group with the name version 7 would use, made by hand without Cutover's tags
    demo.client("elbv2").create_target_group(Name="demo-web-7", Protocol="HTTP", Port=8080,
                                             VpcId=demo.env.values["VPC"], TargetType="ip")
    before = snapshot.take(demo.client)
    # When version 7 is released
    arn = start(demo, "7", config_with(demo))
    result = finish(demo, arn)
    # Then it is refused as bad input, naming the owner, before the lock was ever taken
    assert result["status"] == "FAILED" and result["error"] == "InvalidReleaseInput"
    assert "target group demo-web-7 is taken by something not made by Cutover" in result["cause"]
    assert "Lock the service" not in entered(demo, arn)
    # and nothing in the account changed
    assert snapshot.diff(before, snapshot.take(demo.client)) == []


def test_a_failed_re_release_of_a_retired_version_keeps_what_an_earlier_release_created(demo):
    # Given 2 released, then 3, so 2 is retired (kept at zero) and is what a rollback brings back
    assert demo.release("2", config=config_with(demo))["status"] == "SUCCEEDED"
    assert demo.release("3", config=config_with(demo))["status"] == "SUCCEEDED"
    before = snapshot.take(demo.client)
    # When 2 is released again by another release (another image), set to delete on failure, and
    # its tasks never get healthy
    demo.engine.data_plane.failing.add("web-2")
    config = config_with(demo, on_prepare_failure="delete", health_timeout_seconds=3, poll_interval_seconds=1)
    result = finish(demo, demo.start("2", config=config, name="release-2-again", image="registry.local/web:2b"))
    # Then the release failed, and its undo deleted nothing that the first release of 2 created:
    assert result["status"] == "FAILED" and result["error"] == "HealthTimeout", result.get("cause")
    assert demo.service("web-2")["desiredCount"] == 0
    assert "demo-web-2" in demo.target_group_names()
    # it is back as it was, retired and marked obsolete, and nothing of 3 (or 1) changed at all
    after = snapshot.take(demo.client)
    outside = snapshot.changes_outside(before, after, [("demo", "web", "2")], rules=[demo.preparing_rule])
    assert outside == [], "\n".join(map(str, outside))
    assert after["service"]["demo/web-2"]["tags"]["cutover:obsolete-since"]
    assert demo.forward(demo.public_rule) == {"demo-web-3": 1}
    assert lock_item(demo) is None


def _wait_for_traffic_step(demo, arn: str, percent: int, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        results = operations.latest_results(operations.history(demo.sfn, arn))
        if (results.get("Shift traffic to the new version") or {}).get("percent") == percent:
            return
        time.sleep(0.2)
    raise AssertionError(f"the release never reached {percent}%")


def _forward_to(demo, rule: str, weights: dict[str, int]) -> None:
    elb = demo.client("elbv2")
    arns = {g["TargetGroupName"]: g["TargetGroupArn"] for g in elb.describe_target_groups()["TargetGroups"]}
    elb.modify_rule(RuleArn=rule, Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": arns[name], "Weight": weight} for name, weight in weights.items()]}}])


def test_an_operators_revert_during_the_hold_fails_the_release_and_is_left_as_it_is(demo):
    # Given v2 holding at 50/50 for a while
    config = config_with(demo, traffic_steps=[{"percent": 50, "hold_seconds": 8}, {"percent": 100, "hold_seconds": 0}])
    arn = start(demo, "2", config)
    _wait_for_traffic_step(demo, arn, 50)
    # When an operator points the public rule back at v1 only (what the release read at its start)
    _forward_to(demo, demo.public_rule, {"demo-web-1": 1})
    before = snapshot.take(demo.client)
    result = finish(demo, arn)
    # Then the release fails closed instead of going on to 100 % and retiring v1
    assert result["status"] == "FAILED" and result["error"] == "RuleDrifted", result.get("cause")
    assert "changed outside this release" in result["cause"]
    # and the operator's rule stands, v1 keeps serving as it was, and only v2 was undone
    assert demo.forward(demo.public_rule) == {"demo-web-1": 1}
    outside = snapshot.changes_outside(before, snapshot.take(demo.client), [("demo", "web", "2")], rules=[demo.preparing_rule])
    assert outside == [], "\n".join(map(str, outside))
    assert demo.service("web-1")["desiredCount"] == 2 and demo.scalable_target("web-1") is not None
    assert lock_item(demo) is None


def test_the_undo_does_not_fight_an_operators_own_weights(demo):
    # Given v2 holding at 50/50
    config = config_with(demo, traffic_steps=[{"percent": 50, "hold_seconds": 8}, {"percent": 100, "hold_seconds": 0}])
    arn = start(demo, "2", config)
    _wait_for_traffic_step(demo, arn, 50)
    # When an operator sets 90/10 by hand
    _forward_to(demo, demo.public_rule, {"demo-web-1": 90, "demo-web-2": 10})
    result = finish(demo, arn)
    # Then the release fails closed, the rollback leaves the operator's weights as they are and says so,
    assert result["status"] == "FAILED" and result["error"] == "RuleDrifted", result.get("cause")
    assert "left alone, changed by someone else: www" in result["cause"]
    assert demo.forward(demo.public_rule) == {"demo-web-1": 90, "demo-web-2": 10}
    # and v2, which still gets a share, keeps running
    assert demo.service("web-2")["desiredCount"] == 2
    assert lock_item(demo) is None


def test_a_version_an_earlier_release_retired_but_left_unmarked_is_marked_by_the_next(demo):
    # Given v2 released over v1, and v1's obsolete mark gone, as when that release's marking failed
    assert finish(demo, start(demo, "2", config_with(demo)))["status"] == "SUCCEEDED"
    marks = ["cutover:obsolete-since", "cutover:obsoleted-by"]
    v1 = demo.service("web-1")
    demo.client("ecs").untag_resource(resourceArn=v1["serviceArn"], tagKeys=marks)
    groups = [lb["targetGroupArn"] for lb in v1["loadBalancers"]]
    demo.client("elbv2").remove_tags(ResourceArns=groups, TagKeys=marks)
    assert "cutover:obsolete-since" not in tags(demo, "web-1")
    # When v3 is released
    assert finish(demo, start(demo, "3", config_with(demo)))["status"] == "SUCCEEDED"
    # Then v1, still at zero, is marked again beside v2, which v3 retired, so that a later release deletes it
    assert demo.service("web-1")["desiredCount"] == 0
    assert tags(demo, "web-1").get("cutover:obsoleted-by") == "demo/3"
    assert tags(demo, "web-2").get("cutover:obsoleted-by") == "demo/3"
