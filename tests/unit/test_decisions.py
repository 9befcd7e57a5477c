"""The steps' decisions are pure: given what a step read, what it would create, change, keep or delete."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cutover_steps.config.models import DeployConfig
from cutover_steps.errors import ReleaseInProgress, ServiceConflict, TargetGroupConflict
from cutover_steps.plan.models import build_plan
from cutover_steps.decisions import forward as decisions
from cutover_steps.plan.task_definition_request import task_definition_request
from tests.unit.configs import raw_config


def plan_of(version: str = "3", keep: int = 1):
    raw = raw_config()
    raw["release"]["retired_versions_to_keep"] = keep
    return build_plan(action="release", env="demo", version=version, image=f"web:{version}", environment={},
                      config=DeployConfig.model_validate(raw), release_id="r-1")


def obsolete(version: str, by: str, since: str) -> dict:
    return {"ecs_service": f"web-{version}", "version": version, "by": by, "since": since}


def test_cleanup_keeps_one_fewer_than_configured_and_spares_what_this_release_marked():
    # Given three versions marked obsolete by earlier releases and one marked by a first run of this one
    plan = plan_of("5", keep=2)
    found = [obsolete("1", "demo/2", "2026-01-01"), obsolete("2", "demo/3", "2026-01-02"),
             obsolete("3", "demo/4", "2026-01-03"), obsolete("4", "demo/5", "2026-01-04")]
    # When cleanup decides
    doomed, kept = decisions.cleanup(plan, found)
    # Then the version this release marked is no candidate, the newest earlier one is kept (the retired
    # one counts toward the keep of 2), and the older ones are deleted, oldest first
    assert [v["ecs_service"] for v in doomed] == ["web-1", "web-2"]
    assert [v["ecs_service"] for v in kept] == ["web-3"]
    assert [i.action for i in decisions.deletions(doomed)] == ["delete", "delete"]


def test_a_target_group_is_created_kept_when_it_is_this_versions_or_refused():
    plan = plan_of()
    route = plan.routes[0]
    assert decisions.target_group(plan, route, None, {}).action == "create"
    own = decisions.target_group(plan, route, {"TargetGroupArn": "arn:tg"}, decisions.tags_for(plan, route))
    assert (own.action, own.before) == ("keep", "arn:tg")
    with pytest.raises(TargetGroupConflict, match="rename or delete it"):
        decisions.target_group(plan, route, {"TargetGroupArn": "arn:tg"}, {"cutover:env": "prod"})


def test_the_service_is_created_kept_or_brought_back_up_and_someone_elses_is_refused():
    plan = plan_of()
    mine = [{"key": k, "value": v} for k, v in plan.tags().items()]
    assert decisions.service(plan, None, None).action == "create"
    at_zero = {"desiredCount": 0, "tags": mine, "status": "ACTIVE", "loadBalancers": []}
    woken = decisions.service(plan, at_zero, None)
    assert (woken.action, woken.before, woken.after) == ("change", {"desired_count": 0}, {"desired_count": 2})
    assert decisions.service(plan, {**at_zero, "desiredCount": 2}, None).action == "keep"
    with pytest.raises(ServiceConflict):
        decisions.service(plan, {**at_zero, "tags": []}, None)


def test_the_task_definition_is_reused_only_with_the_same_content():
    plan = plan_of()
    request = task_definition_request(plan, plan.image)
    digest = decisions.digest(request)
    same = {"taskDefinitionArn": "arn:td:7", "tags": {decisions.DIGEST_TAG: digest}}
    assert decisions.task_definition(request, same).action == "keep"
    assert decisions.task_definition(request, {**same, "tags": {}}).action == "create"
    assert decisions.task_definition(request, None).action == "create"


def test_the_preparing_rule_changes_unless_it_forwards_to_the_new_version_alone():
    assert decisions.preparing_rule("rule", {"arn:new": 1}, "arn:new").action == "keep"
    assert decisions.preparing_rule("rule", {"arn:old": 1}, "arn:new").after == {"arn:new": 1}
    # Planned before the target group exists: it will change
    assert decisions.preparing_rule("rule", {"arn:old": 1}, None).action == "change"


def test_the_old_version_is_scaled_to_zero_unless_it_is_already_or_is_someone_elses():
    plan = plan_of()
    old = {"ecs_service": "web-1", "version": "1"}
    mine = [{"key": k, "value": v} for k, v in plan_of("1").tags().items()]
    running = {"desiredCount": 2, "tags": mine}
    intent = decisions.retirement(plan, old, running, {"min": 2, "max": 6, "policies": []})
    assert (intent.action, intent.before["desired_count"], intent.after["desired_count"]) == ("change", 2, 0)
    assert decisions.retirement(plan, old, {**running, "desiredCount": 0}, None).action == "keep"
    assert decisions.retirement(plan, old, None, None).action == "keep"
    assert decisions.retirement(plan, old, {**running, "tags": []}, None).action == "keep"


NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
KEY, ME, OTHER = "lock#demo#web", "arn:execution:release-3", "arn:execution:release-2"


def test_a_free_lock_is_taken_one_this_release_holds_is_kept_and_a_stale_one_is_taken_over():
    assert decisions.lock(KEY, ME, None, False, NOW).action == "create"
    assert decisions.lock(KEY, ME, {"held_by": ME, "taken_at": "t"}, False, NOW).action == "keep"
    stale = decisions.lock(KEY, ME, {"held_by": OTHER, "taken_at": "t"}, False, NOW)
    assert (stale.action, stale.before["held_by"], stale.after["held_by"]) == ("change", OTHER, ME)


def test_a_lock_is_refused_while_its_holder_runs_or_while_the_undo_of_its_ended_holder_runs():
    with pytest.raises(ReleaseInProgress, match="is being released by arn:execution:release-2"):
        decisions.lock(KEY, ME, {"held_by": OTHER, "taken_at": "t"}, True, NOW)
    undoing = {"held_by": OTHER, "undo_started_at": (NOW - timedelta(seconds=10)).isoformat()}
    with pytest.raises(ReleaseInProgress, match="is being undone after .* `cutover status release-2`"):
        decisions.lock(KEY, ME, undoing, False, NOW)
    # An undo marked longer ago than its function may run has died with it: the lock is taken over
    died = {**undoing, "undo_started_at": (NOW - timedelta(seconds=decisions.UNDO_SECONDS + 1)).isoformat()}
    assert decisions.lock(KEY, ME, died, False, NOW).action == "change"


def test_unlock_deletes_only_this_releases_lock():
    assert decisions.unlock(KEY, ME, {"held_by": ME}).action == "delete"
    assert decisions.unlock(KEY, ME, None).why == "not locked"
    other = decisions.unlock(KEY, ME, {"held_by": OTHER})
    assert (other.action, other.why) == ("keep", f"held by {OTHER}, left alone")


def test_a_retired_version_is_marked_obsolete_unless_marked_already_gone_or_someone_elses():
    plan = plan_of("3")
    mine = [{"key": k, "value": v} for k, v in plan_of("2").tags().items()]
    marked = decisions.obsolete_mark(plan, "web-2", {"tags": mine}, "2026-11-27T12:00:00.000000Z")
    assert (marked.action, marked.after) == ("change", {"cutover:obsolete-since": "2026-11-27T12:00:00.000000Z",
                                                        "cutover:obsoleted-by": "demo/3"})
    already = mine + [{"key": "cutover:obsolete-since", "value": "2026-01-01"}]
    assert decisions.obsolete_mark(plan, "web-2", {"tags": already}, "now").why == "already obsolete since 2026-01-01"
    assert decisions.obsolete_mark(plan, "web-2", None, "now").why == "service no longer exists"
    theirs = decisions.obsolete_mark(plan, "web-2", {"tags": [{"key": "team", "value": "payments"}]}, "now")
    assert theirs.action == "keep" and theirs.why.endswith("left alone")


def test_a_draining_service_or_one_wired_to_other_target_groups_is_refused_before_anything_changes():
    plan = plan_of()
    mine = [{"key": k, "value": v} for k, v in plan.tags().items()]
    groups = {route.route.name: f"arn:tg/{route.target_group_name}" for route in plan.routes}
    wired = {"desiredCount": 2, "tags": mine, "status": "ACTIVE",
             "loadBalancers": [{"targetGroupArn": arn} for arn in groups.values()]}
    assert decisions.service(plan, wired, groups).action == "keep"
    with pytest.raises(ServiceConflict, match="still DRAINING"):
        decisions.service(plan, {**wired, "status": "DRAINING"}, groups)
    with pytest.raises(ServiceConflict, match="is wired to \\['arn:tg/elsewhere'\\]"):
        decisions.service(plan, {**wired, "loadBalancers": [{"targetGroupArn": "arn:tg/elsewhere"}]}, groups)


def test_the_old_versions_are_what_the_public_rules_forward_to_besides_the_new_one_and_only_ours_are_retired():
    plan = plan_of()
    v1 = {k: v for k, v in plan_of("1").tags().items()} | {"cutover:ecs-service": "web-1"}
    v2 = {k: v for k, v in plan_of("2").tags().items()} | {"cutover:ecs-service": "web-2"}
    theirs = {"team": "payments"}
    old1, old2, foreign = "arn:elb:targetgroup/demo-web-1/1", "arn:elb:targetgroup/demo-web-2/2", "arn:elb:targetgroup/pay/3"
    rules = [{"route": "www", "rule": "arn:rule", "forward": {old1: 1, old2: 1, foreign: 1}, "new": "arn:new"}]
    live = decisions.old_versions(plan, rules, {old1: v1, old2: v2, foreign: theirs})
    # Both versions an interrupted release left on the rule are retired; the other team's group is not
    assert [(o["ecs_service"], o["version"], o["target_groups"]) for o in live["old_services"]] == [
        ("web-1", "1", [old1]), ("web-2", "2", [old2])]
    assert any("3 old target groups" in note for note in live["notes"])
    assert any("pay belongs to something not made by Cutover" in note for note in live["notes"])
    # A rule already on the new version alone retires nothing
    done = decisions.old_versions(plan, [{**rules[0], "forward": {"arn:new": 1}}], {})
    assert done["old_services"] == [] and done["notes"] == ["route www: already forwards only to version 3"]


def test_a_service_at_zero_with_its_scaling_parked_is_kept_one_with_live_scaling_is_parked():
    from cutover_steps.decisions.descriptions import PARKED
    at_zero = {"desiredCount": 0}
    kept = decisions.to_zero("old version", "web-1", at_zero, {**PARKED, "policies": []})
    assert (kept.action, kept.why) == ("keep", "already at zero, its scaling parked")
    parked = decisions.to_zero("old version", "web-1", at_zero, {"min": 1, "max": 4, "policies": []})
    assert (parked.action, parked.after) == ("change", {"desired_count": 0, "autoscaling": {"min": 0, "max": 0}})


def test_a_lock_whose_ended_holder_s_undo_has_not_run_is_refused_until_it_has():
    with pytest.raises(ReleaseInProgress, match="ended without its undo yet"):
        decisions.lock(KEY, ME, {"held_by": OTHER, "taken_at": "t"}, False, NOW, undo_pending=True)
