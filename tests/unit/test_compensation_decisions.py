"""The undo's decisions are pure: given what the undo read, what goes back where, what is scaled down
or deleted, and what is kept because it is not the release's or is already undone."""
from __future__ import annotations

from cutover_steps.decisions import compensation
from cutover_steps.decisions import descriptions
from cutover_steps.decisions.compensation import PreparedFound
from cutover_steps.config.models import DeployConfig
from cutover_steps.plan.models import build_plan
from tests.unit.configs import raw_config

NEW, OLD, PERSON = "arn:tg/demo-web-3", "arn:tg/demo-web-2", "arn:tg/someone-elses"
SINCE = "2026-11-27T12:00:00.000000Z"


def plan_of(on_prepare_failure: str = "scale_to_zero", release_id: str = "r-3"):
    raw = raw_config()
    raw["release"]["on_prepare_failure"] = on_prepare_failure
    return build_plan(action="release", env="demo", version="3", image="web:3", environment={},
                      config=DeployConfig.model_validate(raw), release_id=release_id)


def as_ecs(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in tags.items()]


def prepared(plan, *, desired: int = 2, scalable: bool = True, created_by: str = "r-3", forward: dict | None = None,
             public: bool = False) -> PreparedFound:
    """The prepared version as the undo reads it: its target group, the preparing rule, its service."""
    route = plan.routes[0]
    group_tags = {**plan.tags(route=route.route.name), "cutover:release": created_by}
    service_tags = {**plan.tags(), "cutover:release": created_by}
    return PreparedFound(
        groups={route.target_group_name: {"TargetGroupArn": NEW}}, group_tags={route.target_group_name: group_tags},
        preparing={route.route.name: {"Actions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
            {"TargetGroupArn": arn, "Weight": w} for arn, w in (forward or {NEW: 1}).items()]}}]}},
        publicly_live=public,
        service=None if public else {"serviceArn": "arn:svc/web-3", "desiredCount": desired, "status": "ACTIVE",
                                     "tags": as_ecs(service_tags)},
        snapshot={"min": 2, "max": 6, "policies": []} if scalable and not public else None,
    )


def test_the_preparing_rule_goes_back_unless_already_off_the_new_version_or_nothing_to_go_back_to():
    plan = plan_of()
    route = plan.routes[0].route.name
    [back] = compensation.preparing_rules_back(plan, prepared(plan), {route: {OLD: 1}})
    assert (back.action, back.before, back.after) == ("change", {NEW: 1}, {OLD: 1})
    # Already undone: the rule forwards to the old version again
    [done] = compensation.preparing_rules_back(plan, prepared(plan, forward={OLD: 1}), {route: {OLD: 1}})
    assert (done.action, done.why) == ("keep", "preparing rule does not forward to the new version")
    # The rule forwarded to nothing before the release: it stays on the new version
    [stays] = compensation.preparing_rules_back(plan, prepared(plan), {route: {NEW: 1}})
    assert stays.action == "keep" and stays.why.startswith("nothing to put back")


def test_the_prepared_version_is_scaled_to_zero_and_marked_or_already_undone_and_only_marked_again_if_needed():
    plan = plan_of()
    service, mark = compensation.prepared_version(plan, prepared(plan), SINCE)
    assert (service.action, service.before, service.after) == (
        "change", {"desired_count": 2, "autoscaling": {"min": 2, "max": 6}}, {"desired_count": 0, "autoscaling": {"min": 0, "max": 0}})
    assert (mark.resource, mark.action, mark.after["cutover:obsolete-since"]) == ("obsolete mark", "change", SINCE)
    # Partly undone (at zero, scalable target gone, not marked yet): only the mark is left to do
    service, mark = compensation.prepared_version(plan, prepared(plan, desired=0, scalable=False), SINCE)
    assert (service.action, service.why, mark.action) == ("keep", "already at zero, no scalable target", "change")
    # Or at zero with its scalable target parked (0..0, scaling suspended): kept as it is too
    found = prepared(plan, desired=0)
    found.snapshot = {"min": 0, "max": 0, "suspended": dict.fromkeys(descriptions.SUSPENDED, True), "policies": []}
    service, _ = compensation.prepared_version(plan, found, SINCE)
    assert (service.action, service.why) == ("keep", "already at zero, its scaling parked")


def test_delete_on_prepare_failure_deletes_only_what_this_release_created():
    plan = plan_of("delete")
    intents = compensation.prepared_version(plan, prepared(plan), SINCE)
    assert [(i.resource, i.action) for i in intents] == [
        ("ECS service", "change"), ("ECS service", "delete"), ("target group", "delete")]
    # A retired version released again: its service and group are an earlier release's, so kept and marked
    again = compensation.prepared_version(plan, prepared(plan, created_by="r-1"), SINCE)
    assert [(i.resource, i.action) for i in again] == [("ECS service", "change"), ("obsolete mark", "change")]


def test_a_version_that_serves_public_traffic_and_what_is_not_ours_are_kept_as_they_are():
    plan = plan_of("delete")
    [kept] = compensation.prepared_version(plan, prepared(plan, public=True), SINCE)
    assert (kept.action, kept.why) == ("keep", "3 serves public traffic; it is kept as it is")
    # A target group under the version's name made by someone else, and their service: both left alone
    found = PreparedFound(foreign={"demo-web-3": {"team": "payments"}},
                          service={"serviceArn": "arn:svc/web-3", "desiredCount": 2, "status": "ACTIVE", "tags": []})
    intents = compensation.prepared_version(plan, found, SINCE)
    assert all(compensation.left_alone(i) for i in intents) and len(intents) == 2


def test_each_public_rule_goes_back_unless_already_back_or_a_person_changed_it():
    routes = [{"route": r, "rule": f"arn:rule/{r}", "forward": {OLD: 1}} for r in ("www", "api", "admin")]
    written = {r: {OLD: 50, NEW: 50} for r in ("www", "api", "admin")}
    current = {"www": {OLD: 50, NEW: 50}, "api": {OLD: 1}, "admin": {PERSON: 1}}
    www, api, admin = compensation.public_rules_back(routes, written, current)
    assert (www.action, www.after) == ("change", {OLD: 1})
    assert (api.action, api.why) == ("keep", "already on the old version")
    assert (admin.action, admin.why) == ("keep", "changed by someone else; left as it is")


def test_the_old_version_comes_back_to_what_was_remembered_unless_it_is_there_gone_or_not_ours():
    plan = plan_of()
    mine = as_ecs({**plan_of().tags(), "cutover:version": "2"})
    saved = {"desired_count": 3, "autoscaling": {"min": 3, "max": 6, "policies": []}}
    back = compensation.old_version_back(plan, "web-2", {"desiredCount": 0, "tags": mine}, saved, None)
    assert (back.action, back.after) == ("change", {"desired_count": 3, "autoscaling": saved["autoscaling"]})
    # Partly undone: back at its count, its scalable target not yet restored
    partly = compensation.old_version_back(plan, "web-2", {"desiredCount": 3, "tags": mine}, saved, None)
    assert partly.after == {"desired_count": 3, "autoscaling": saved["autoscaling"]}
    # Parked when it was retired: its bounds and suspension go back
    parked = {"min": 0, "max": 0, "suspended": dict.fromkeys(descriptions.SUSPENDED, True), "policies": []}
    unparked = compensation.old_version_back(plan, "web-2", {"desiredCount": 0, "tags": mine}, saved, parked)
    assert unparked.after == {"desired_count": 3, "autoscaling": saved["autoscaling"]}
    done = compensation.old_version_back(plan, "web-2", {"desiredCount": 3, "tags": mine}, saved, {"min": 3, "max": 6})
    assert done.action == "keep"
    assert compensation.old_version_back(plan, "web-2", None, saved, None).why == "service no longer exists"
    theirs = compensation.old_version_back(plan, "web-2", {"desiredCount": 0, "tags": []}, saved, None)
    assert compensation.left_alone(theirs)
