"""`cutover plan` says what the release then does: plan, release the same version, and compare what
the plan said with what the account and the execution history show afterwards.

Both run the steps' own reads and decisions; these tests catch a plan that drifts from the steps.
"""
from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
import yaml
from boto3.dynamodb.types import TypeDeserializer

from cutover.operations import executions as operations
from cutover.definition import states
from cutover.local import environment
from cutover.local.engine import TABLE_NAME
from cutover_steps.adapters.elbv2 import name_of
from tests.cli.helpers import cutover
from tests.conftest import Demo, wait_until_serving
from tests.e2e.safety_fixtures import LOCK_KEY, config_with, finish, lock_item, start, tags

pytestmark = pytest.mark.e2e

FAMILY = "web"


def plan(demo: Demo, version: str, config: dict[str, Any], tmp_path, code: int = 0) -> dict[str, Any]:
    """The plan as JSON; `code` 1 when the plan predicts the release would fail."""
    path = tmp_path / f"deploy-{version}.yaml"
    path.write_text(yaml.safe_dump(config))
    result = cutover("plan", "--env", "demo", "--version", version, "--image", f"registry.local/web:{version}",
                     "--config", str(path), "--output", "json")
    assert result.code == code, result.out + result.err
    report = json.loads(result.out)
    assert not unreadable(report), unreadable(report)
    return report


def unreadable(report: dict[str, Any]) -> list[str]:
    """What a person could not read in the plan's decisions: a `null` key (a target group not created
    yet), a bare content digest, an ARN where the thing has a name (its ARN goes in `arn` alone)."""
    found = []

    def look(where: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                look(f"{where} key", key)
                look(f"{where}.{key}", inner)
        elif isinstance(value, list):
            for inner in value:
                look(where, inner)
        elif value == "null" or isinstance(value, str) and (value.startswith("arn:") or re.fullmatch(r"[0-9a-f]{20,}", value)):
            found.append(f"{where}: {value}")

    for decision in report["decisions"]:
        for field in ("name", "before", "after", "why"):
            look(f"{decision['resource']} {decision['action']} {field}", decision[field])
    return found


def account(demo: Demo) -> dict[str, Any]:
    """What a person would look at: target groups, services (desired count, scalable target, obsolete
    mark), the scalable targets' bounds and the family's task definition revisions."""
    ecs = demo.client("ecs")
    services = {}
    for arn in ecs.list_services(cluster="demo")["serviceArns"]:
        name = arn.rsplit("/", 1)[-1]
        found = demo.service(name)
        if found:
            services[name] = {"desired": found["desiredCount"], "task_definition": found["taskDefinition"],
                              "scalable": demo.scalable_target(name) is not None and not demo.parked(name),
                              "obsolete": "cutover:obsolete-since" in tags(demo, name)}
    targets = demo.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    return {
        "target_groups": demo.target_group_names(),
        "services": services,
        "scalable_targets": {t["ResourceId"].rsplit("/", 1)[-1]: {"min": t["MinCapacity"], "max": t["MaxCapacity"]} for t in targets},
        "revisions": ecs.list_task_definitions(familyPrefix=FAMILY)["taskDefinitionArns"],
        "preparing_rule": demo.forward(demo.preparing_rule),
        "public_rule": demo.forward(demo.public_rule),
        "lock_held_by": (lock_item(demo) or {}).get("held_by", {}).get("S"),
        "record": record_item(demo),
    }


def record_item(demo: Demo) -> dict[str, Any]:
    item = demo.client("dynamodb").get_item(TableName=TABLE_NAME, Key={"pk": {"S": "release#demo#web"}}).get("Item") or {}
    return {name: TypeDeserializer().deserialize(value) for name, value in item.items()}


def release(demo: Demo, version: str, config: dict[str, Any], name: str | None = None) -> list[dict[str, int]]:
    """Release, and return the weights each traffic step wrote, by target group name, from the history."""
    arn = start(demo, version, config, name=name)
    ended = finish(demo, arn)
    assert ended["status"] == "SUCCEEDED", ended.get("cause")
    (shift,) = states.of_step("ShiftTraffic")
    return [{name_of(group): weight for group, weight in rule["weights"].items()}
            for state, result in operations.step_results(operations.history(demo.sfn, arn)) if state == shift
            for rule in result["rules"]]


def decisions(report: dict[str, Any], resource: str) -> list[dict[str, Any]]:
    return [d for d in report["decisions"] if d["resource"] == resource]


def assert_done_as_planned(report: dict[str, Any], before: dict[str, Any], after: dict[str, Any],
                           shifted: list[dict[str, int]]) -> None:
    version = report["plan"]["version"]
    new_service = report["plan"]["ecs_service"]
    # The lock was free, or held by a release that had ended, as the plan said; the release took it
    # (over) and gave it back.
    lock = report["lock"]
    assert before["lock_held_by"] == (lock["held_by"] if lock["action"] == "change" else None)
    assert lock["action"] in ("create", "change") and after["lock_held_by"] is None
    for group in decisions(report, "target group"):
        if group["action"] == "create":
            assert group["name"] not in before["target_groups"] and group["name"] in after["target_groups"]
        else:
            assert group["action"] == "keep" and group["name"] in before["target_groups"]
    [revision] = decisions(report, "task definition")
    new_revisions = [r for r in after["revisions"] if r not in before["revisions"]]
    if revision["action"] == "create":
        assert len(new_revisions) == 1 and after["services"][new_service]["task_definition"] == new_revisions[0]
    else:
        assert new_revisions == [] and after["services"][new_service]["task_definition"] == revision["arn"]
        assert revision["before"] == revision["after"] == revision["arn"].rsplit("/", 1)[-1]
    [service] = decisions(report, "ECS service")
    assert service["name"] == new_service
    if service["action"] == "create":
        assert new_service not in before["services"]
    elif service["action"] == "change":
        assert before["services"][new_service]["desired"] == service["before"]["desired_count"] == 0
    assert after["services"][new_service]["desired"] == service["after"]["desired_count"] > 0
    # Autoscaling: registered with the bounds the plan said, or already there as it said
    [scaling] = decisions(report, "scalable target")
    assert scaling["name"] == new_service and after["scalable_targets"][new_service] == {
        "min": scaling["after"]["min"], "max": scaling["after"]["max"]}
    assert (scaling["action"] == "keep") == (before["scalable_targets"].get(new_service) == after["scalable_targets"][new_service])
    # The preparing rule forwards to the new version: moved there, or already there, as planned.
    [rule] = decisions(report, "preparing rule")
    new_group = decisions(report, "target group")[0]["name"]
    assert after["preparing_rule"] == {new_group: 1}
    assert (rule["before"], rule["after"]) == (before["preparing_rule"], after["preparing_rule"])
    assert (before["preparing_rule"] == after["preparing_rule"]) == (rule["action"] == "keep")
    # Traffic: each step wrote the weights the plan said, from the rule as it was, to where it ends now.
    planned_shifts = decisions(report, "public rule")
    assert shifted == [d["after"] for d in planned_shifts]
    assert planned_shifts[0]["before"] == before["public_rule"] and after["public_rule"] == shifted[-1]
    # The record says what the plan said it would: the version serving, and what a rollback brings back.
    [recorded] = decisions(report, "release record")
    assert (recorded["action"] == "keep") == (before["record"] == after["record"])
    if recorded["action"] != "keep":
        planned_previous, previous = recorded["after"].get("previous"), after["record"].get("previous")
        assert after["record"]["current"]["version"] == recorded["after"]["current"]["version"] == version
        assert (planned_previous is None) == ("previous" not in recorded["after"])
        if planned_previous:
            assert {k: previous[k] for k in ("version", "ecs_service", "desired_count", "target_groups")} == {
                k: planned_previous[k] for k in ("version", "ecs_service", "desired_count", "target_groups")}
        assert set(after["record"]["kept"]) == set(recorded["after"]["kept"])
    # Retired: exactly the versions the plan named went to zero, their scalable targets parked, marked obsolete.
    retired = {d["name"]: d for d in decisions(report, "old version")}
    scaled_down = {name for name, now in after["services"].items()
                   if now["desired"] == 0 and before["services"].get(name, {}).get("desired")}
    assert scaled_down == {name for name, d in retired.items() if d["action"] == "change"}
    for name, intent in retired.items():
        if intent["action"] == "change":
            assert before["services"][name]["desired"] == intent["before"]["desired_count"] > 0
        now = after["services"][name]
        assert (now["desired"], now["scalable"], now["obsolete"]) == (0, False, True)
    # Marked obsolete: exactly the versions the plan said it would mark.
    marked = {d["name"] for d in decisions(report, "obsolete mark") if d["action"] == "change"}
    newly = {name for name, now in after["services"].items()
             if now["obsolete"] and not before["services"].get(name, {}).get("obsolete")}
    assert newly == marked
    # Deleted: exactly the versions the plan named are gone, and nothing else is.
    planned = {d["name"] for d in decisions(report, "version")}
    gone = set(before["services"]) - set(after["services"])
    assert gone == planned
    assert {k["ecs_service"] for k in report["keep"]} <= set(after["services"])
    assert version in new_service


def plan_then_release(demo: Demo, version: str, config: dict[str, Any], tmp_path, name: str | None = None) -> dict[str, Any]:
    report = plan(demo, version, config, tmp_path)
    before = account(demo)
    shifted = release(demo, version, config, name)
    assert_done_as_planned(report, before, account(demo), shifted)
    return report


@pytest.fixture
def fresh(engine):
    """The demo environment with no version of the service yet."""
    env = environment.create(engine.client)
    config = environment.demo_config(env.values)
    config["release"]["traffic_steps"] = [{"percent": 50, "hold_seconds": 1}, {"percent": 100, "hold_seconds": 0}]
    demo = Demo(engine=engine, env=env, config=config)
    yield demo
    engine.wait_for_running_executions()


def test_first_release_does_what_its_plan_said(fresh, tmp_path):
    # Given an environment where no version exists
    # When version 1 is planned, then released
    report = plan_then_release(fresh, "1", config_with(fresh), tmp_path)
    # Then the plan created everything, retired and deleted nothing, and so did the release
    assert {d["action"] for d in report["decisions"] if not d["resource"].endswith(" rule")} == {"create"}
    assert report["retire"] == [] and report["delete"] == []


def test_steady_state_and_a_release_of_the_same_version_again_do_what_their_plans_said(demo, tmp_path):
    # Given version 1 live
    config = config_with(demo)
    # When version 2 is planned and released: it retires version 1
    report = plan_then_release(demo, "2", config, tmp_path)
    assert [r["ecs_service"] for r in report["retire"]] == ["web-1"]
    # And when version 2 is planned and released again: everything is kept, nothing retired
    again = plan_then_release(demo, "2", config, tmp_path, name="release-2-again")
    assert {d["action"] for d in again["decisions"]} == {"keep"}


def test_cleanup_of_several_obsolete_versions_deletes_what_the_plan_said(demo, tmp_path):
    # Given versions 2, 3 and 4 released over 1, keeping three retired versions: 1, 2 and 3 obsolete, at zero
    for version in ("2", "3", "4"):
        release(demo, version, config_with(demo, retired_versions_to_keep=3))
    # When version 5 is planned and released keeping one retired version (the one it retires)
    report = plan_then_release(demo, "5", config_with(demo, retired_versions_to_keep=1), tmp_path)
    # Then the plan named the three earlier versions for deletion, and they are the ones gone
    assert sorted(d["ecs_service"] for d in report["delete"]) == ["web-1", "web-2", "web-3"]


def test_after_a_rollback_the_next_release_does_what_its_plan_said(demo, tmp_path):
    # Given version 2 released over 1, then rolled back: 1 serves, 2 is retired and obsolete
    release(demo, "2", config_with(demo))
    rolled = finish(demo, operations.start(demo.sfn, demo.engine.state_machine_arn,
                                           {"action": "rollback", "env": "demo", "service": "web"}, "rollback-web"))
    assert rolled["status"] == "SUCCEEDED", rolled.get("cause")
    wait_until_serving(demo)
    # When version 3 is planned and released
    report = plan_then_release(demo, "3", copy.deepcopy(config_with(demo)), tmp_path)
    # Then it retired version 1 and deleted version 2, as planned
    assert [r["ecs_service"] for r in report["retire"]] == ["web-1"]
    assert [d["ecs_service"] for d in report["delete"]] == ["web-2"]


def test_the_plan_says_who_holds_the_lock_and_that_the_release_would_be_refused(demo, tmp_path):
    # Given version 2 waiting for approval, holding the service's lock
    first = demo.start("2")
    assert operations.wait_for_state(demo.sfn, first, operations.APPROVAL_STATE, 60)
    # When version 3 is planned meanwhile
    path = tmp_path / "deploy-3.yaml"
    path.write_text(yaml.safe_dump(config_with(demo)))
    shown = cutover("plan", "--env", "demo", "--version", "3", "--image", "registry.local/web:3", "--config", str(path))
    report = plan(demo, "3", config_with(demo), tmp_path, code=1)
    # Then it names the execution the account shows holding the lock, says the release would be refused,
    # and exits 1 as a plan that predicts a failure does
    assert shown.code == 1, shown.out + shown.err
    assert report["lock"]["held_by"] == lock_item(demo)["held_by"]["S"] == first
    assert report["lock"]["action"] is None and first in report["lock"]["refused"]
    assert "! lock lock#demo#web is held: the release would be refused" in shown.out
    # And once version 2 has finished, the lock is free and the plan says the release takes it
    operations.approve(demo.sfn, first, by="alice", wait_seconds=30)
    assert finish(demo, first)["status"] == "SUCCEEDED"
    assert lock_item(demo) is None
    assert plan(demo, "3", config_with(demo), tmp_path)["lock"]["action"] == "create"


def test_a_lock_left_by_a_release_that_ended_is_taken_over_as_the_plan_said(demo, tmp_path):
    # Given the service's lock left behind by a release that no longer runs
    stale = "arn:aws:states:us-east-1:123456789012:execution:cutover-release:ended-long-ago"
    demo.client("dynamodb").put_item(TableName=TABLE_NAME, Item={"pk": {"S": LOCK_KEY}, "held_by": {"S": stale}})
    # When version 2 is planned, then released
    path = tmp_path / "deploy.yaml"
    path.write_text(yaml.safe_dump(config_with(demo)))
    shown = cutover("plan", "--env", "demo", "--version", "2", "--image", "registry.local/web:2", "--config", str(path))
    report = plan_then_release(demo, "2", config_with(demo), tmp_path)
    # Then the plan named the stale holder and said the release takes the lock over, which it did
    assert (report["lock"]["action"], report["lock"]["held_by"]) == ("change", stale)
    assert "Lock: lock#demo#web held by ended-long-ago, which has ended; the release takes it over" in shown.out, shown.out


def test_the_plan_names_what_each_decision_acts_on(fresh, tmp_path):
    config = config_with(fresh)
    path = tmp_path / "deploy.yaml"
    path.write_text(yaml.safe_dump(config))
    rule_arn = config["routes"][0]["preparing_rule_arn"]

    def shown(version: str) -> tuple[str, dict[str, Any]]:
        args = ("plan", "--env", "demo", "--version", version, "--image", f"registry.local/web:{version}", "--config", str(path))
        text = cutover(*args)
        assert text.code == 0, text.out + text.err
        return text.out, plan(fresh, version, config, tmp_path)

    # Given no version yet, when the first release is planned
    text, first = shown("1")
    # Then the preparing rule is named by its route and would forward to the target group the release
    # creates, by name; the new revision says what it runs; the text shows no ARN or digest either
    [rule] = decisions(first, "preparing rule")
    assert (rule["name"], rule["arn"], rule["after"]) == ("www", rule_arn, {"demo-web-1": 1})
    [revision] = decisions(first, "task definition")
    assert (revision["before"], revision["after"]) == (None, "a new revision of web with image registry.local/web:1")
    assert "preparing rule   www          now no version" in text and "-> demo-web-1" in text
    assert "arn:" not in text and not re.search(r"[0-9a-f]{20}", text), text

    # Given version 1 released, when version 2 is planned over it
    release(fresh, "1", config)
    text, second = shown("2")
    # Then the rule goes from version 1's target group to version 2's, by name, and the revision from web:1
    [rule] = decisions(second, "preparing rule")
    assert (rule["name"], rule["before"], rule["after"]) == ("www", {"demo-web-1": 1}, {"demo-web-2": 1})
    [revision] = decisions(second, "task definition")
    assert revision["before"] == "web:1" and revision["after"] == "a new revision of web with image registry.local/web:2"
    assert [d["after"] for d in decisions(second, "public rule")] == [{"demo-web-2": 500, "demo-web-1": 500}, {"demo-web-2": 1}]
    assert "preparing rule   www          now demo-web-1 (v1) -> demo-web-2" in text
    assert "arn:" not in text and not re.search(r"[0-9a-f]{20}", text), text

    # Given version 2 released, when version 2 is planned again
    release(fresh, "2", config)
    text, again = shown("2")
    # Then what is kept is named too: the target group, the rule's target group and the revision web:2,
    # with their ARNs beside the names
    [group] = decisions(again, "target group")
    assert (group["action"], group["before"], group["after"]) == ("keep", "demo-web-2", "demo-web-2")
    assert group["arn"].startswith("arn:aws:elasticloadbalancing:") and "/demo-web-2/" in group["arn"]
    [rule] = decisions(again, "preparing rule")
    assert (rule["action"], rule["before"], rule["after"]) == ("keep", {"demo-web-2": 1}, {"demo-web-2": 1})
    [revision] = decisions(again, "task definition")
    assert (revision["action"], revision["before"], revision["after"]) == ("keep", "web:2", "web:2")
    assert revision["arn"].endswith(":task-definition/web:2")
    assert "preparing rule   www          already forwards to demo-web-2 (kept)" in text
    assert "task definition  web                              web:2 reused (same content)" in text


def failing_at(report: dict[str, Any], state: str) -> dict[str, Any]:
    [point] = [p for p in report["if_it_fails"] if p["state"] == state and p["run"] == 1]
    return point


def test_the_plan_says_what_a_failure_while_preparing_would_undo_and_the_undo_does_it(demo, tmp_path):
    # Given version 1 live, and version 2 planned over it
    config = config_with(demo, health_timeout_seconds=3, poll_interval_seconds=1)
    report = plan(demo, "2", config, tmp_path)
    (health, *_) = states.of_step("CheckHealth")
    (teardown,) = states.of_step("TearDownPrepared")
    # Then a failure at any point before traffic moves is undone by the teardown alone, and one before the
    # first change (the lock) by nothing
    assert [p["undone_by"] for p in report["if_it_fails"] if p["state"] == health] == [[teardown]]
    assert not [p for p in report["if_it_fails"] if p["state"] in states.of_step("LockService")]
    planned = {(d["resource"], d["name"]): d for d in failing_at(report, health)["decisions"]}
    # When version 2 never becomes healthy, so that the health check fails
    demo.engine.data_plane.failing.add("web-2")
    result = finish(demo, start(demo, "2", config))
    assert result["status"] == "FAILED" and result["error"] == "HealthTimeout", result.get("cause")
    # Then the teardown did what the plan said a failure there would: the preparing rule back on version
    # 1, version 2's service at zero and marked obsolete, its target group kept for that mark
    rule = planned[("preparing rule", "www (preparing)")]
    assert (rule["action"], rule["after"]) == ("change", {"demo-web-1": 1}) and demo.forward(demo.preparing_rule) == rule["after"]
    service = planned[("ECS service", "web-2")]
    assert (service["action"], service["after"]["desired_count"]) == ("change", 0) == ("change", demo.service("web-2")["desiredCount"])
    assert planned[("obsolete mark", "web-2")]["action"] == "change" and "cutover:obsolete-since" in tags(demo, "web-2")
    assert not [d for d in planned.values() if d["resource"] == "target group"] and "demo-web-2" in demo.target_group_names()


def test_the_plan_says_what_an_alarm_in_a_hold_would_undo_and_the_rollback_does_it(demo, tmp_path):
    # Given a watched alarm, version 1 live, and version 2 planned over it with a hold at 50 %
    demo.client("cloudwatch").put_metric_alarm(
        AlarmName="web-5xx", Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_5XX_Count",
        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=5, ComparisonOperator="GreaterThanOrEqualToThreshold")
    config = config_with(demo, alarm_names=["web-5xx"], alarm_check_seconds=1,
                         traffic_steps=[{"percent": 50, "hold_seconds": 60}, {"percent": 100, "hold_seconds": 0}])
    report = plan(demo, "2", config, tmp_path)
    (hold,) = states.of_step("WatchAlarms")
    at_50 = failing_at(report, hold)
    # Then a failure in the first hold is undone by the rollback's two phases
    assert at_50["undone_by"] == states.of_step("RollBackTraffic")
    planned = {(d["resource"], d["name"]): d for d in at_50["decisions"]}
    # When the alarm goes into ALARM while traffic holds at 50 %
    arn = start(demo, "2", config)
    assert operations.wait_for_state(demo.sfn, arn, hold, 60)
    held = demo.forward(demo.public_rule)
    demo.client("cloudwatch").set_alarm_state(AlarmName="web-5xx", StateValue="ALARM", StateReason="5xx")
    result = finish(demo, arn)
    assert result["status"] == "FAILED" and result["error"] == "AlarmFired", result.get("cause")
    # Then the rollback did what the plan said: the public rule from the 50 % it held (in shares) back on
    # version 1 alone, version 1 left at its capacity, version 2 at zero and marked obsolete, the
    # preparing rule back
    public = planned[("public rule", "www (public)")]
    assert held == {"demo-web-1": 500, "demo-web-2": 500} and public["before"] == {"demo-web-2": 50, "demo-web-1": 50}
    assert demo.forward(demo.public_rule) == public["after"]
    old = planned[("old version", "web-1")]
    assert old["action"] == "keep" and demo.service("web-1")["desiredCount"] > 0
    assert planned[("preparing rule", "www (preparing)")]["after"] == demo.forward(demo.preparing_rule) == {"demo-web-1": 1}
    assert planned[("ECS service", "web-2")]["after"]["desired_count"] == demo.service("web-2")["desiredCount"] == 0
    assert planned[("obsolete mark", "web-2")]["action"] == "change" and "cutover:obsolete-since" in tags(demo, "web-2")
