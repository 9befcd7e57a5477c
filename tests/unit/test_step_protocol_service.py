"""CreateService's and RetireOldVersion's decisions, made from hand-made findings without AWS: what
each would create, bring back, refuse or retire, and what the release record would remember."""
from __future__ import annotations

from cutover_steps.config.models import DeployConfig
from cutover_steps.decisions.descriptions import PARKED
from cutover_steps.errors import RuleDrifted, ServiceConflict
from cutover_steps.plan.models import build_plan
from cutover_steps.runtime.step import StepEvent
from cutover_steps.steps import create_service, retire_old_version
from tests.unit.configs import raw_config

GROUP = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-3-www/1"
OLD_GROUP = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-2-www/2"


def event(action: str = "release", version: str = "3", restore: dict | None = None, **results) -> StepEvent:
    plan = build_plan(action=action, env="demo", version=version, image=f"web:{version}", environment={},
                      config=DeployConfig.model_validate(raw_config()), release_id="r-1", restore=restore)
    return StepEvent(raw={"plan": plan.model_dump(mode="json")}, results=results)


def tags(version: str, **extra: str) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in {"cutover:env": "demo", "cutover:service": "web",
                                                 "cutover:version": version, **extra}.items()]


def service(version: str, desired: int, **extra_tags: str) -> dict:
    return {"serviceName": f"web-{version}", "serviceArn": f"arn:aws:ecs:us-east-1:123456789012:service/demo/web-{version}",
            "status": "ACTIVE", "desiredCount": desired, "tags": tags(version, **extra_tags),
            "loadBalancers": [{"targetGroupArn": GROUP if version == "3" else OLD_GROUP}]}


def scaling(low: int, high: int, names: tuple[str, ...] = ("cpu",)) -> dict:
    return {"min": low, "max": high, "suspended": {}, "policies": [{"name": n} for n in names]}


CREATED_GROUPS = {"target_groups": {"target_groups": [{"route": "www", "name": "web-3-www", "arn": GROUP}]}}


# -- CreateService --

def test_a_free_name_creates_the_service_and_registers_its_scalable_target():
    step = event(**CREATED_GROUPS)
    decided = create_service.decide(step, create_service.Found(None))
    assert [(i.resource, i.action) for i in decided.intents] == [("ECS service", "create"), ("scalable target", "create")]
    assert decided.refusal is None and not decided.exists
    # What a later step sees in a plan: the service made, its ARN not known before ECS gives it
    expected = create_service.expect(step, decided)
    assert (expected.changed, expected.arn, expected.autoscaling["changed"]) == ("created", None, "registered")


def test_a_plan_before_the_target_groups_exist_still_decides_the_service_and_its_scaling():
    # Given CreateTargetGroups' expected result in a plan: the group not created, so no ARN yet
    step = event(target_groups={"target_groups": [{"route": "www", "name": "web-3-www", "arn": None}]})
    decided = create_service.decide(step, create_service.Found(None))
    assert [i.action for i in decided.intents] == ["create", "create"]
    assert decided.scaling.after == {"min": 2, "max": 6, "policies": ["cpu"]}


def test_this_versions_service_at_zero_is_brought_back_up_and_its_scaling_kept_when_it_has_it():
    step = event(**CREATED_GROUPS)
    found = create_service.Found(service("3", 0), scaling(2, 6))
    decided = create_service.decide(step, found)
    assert (decided.service.action, decided.service.after) == ("change", {"desired_count": 2})
    assert decided.scaling.action == "keep"
    assert create_service.expect(step, decided).changed == "desired count 0 -> 2"
    # A running one with other bounds is kept and its scaling registered again
    again = create_service.decide(step, create_service.Found(service("3", 2), scaling(1, 3)))
    assert [i.action for i in again.intents] == ["keep", "change"]
    assert create_service.expect(step, again).found == "already exists"


def test_someone_elses_service_is_refused_naming_its_owner_as_the_plan_shows_it():
    step = event(**CREATED_GROUPS)
    theirs = {**service("3", 2), "tags": [{"key": "cutover:env", "value": "demo"}, {"key": "cutover:service", "value": "shop"},
                                          {"key": "cutover:version", "value": "9"}]}
    decided = create_service.decide(step, create_service.Found(theirs))
    assert isinstance(decided.refusal, ServiceConflict)
    assert decided.taken_by == "shop version 9 in env demo"
    assert decided.exists and decided.service is None
    # The plan still shows the scaling a release would register
    assert [(i.resource, i.action) for i in decided.intents] == [("scalable target", "create")]


def test_a_service_wired_to_other_target_groups_is_refused():
    step = event(**CREATED_GROUPS)
    miswired = {**service("3", 2), "loadBalancers": [{"targetGroupArn": OLD_GROUP}]}
    decided = create_service.decide(step, create_service.Found(miswired, scaling(2, 6)))
    assert isinstance(decided.refusal, ServiceConflict) and "is wired to" in str(decided.refusal)


def test_a_rollback_brings_the_retired_version_back_to_its_recorded_capacity_and_scaling():
    restore = {"desired_count": 4, "autoscaling": scaling(3, 8)}
    step = event(action="rollback", version="2", restore=restore)
    retired = service("2", 0, **{"cutover:obsolete-since": "2026-12-01", "cutover:obsoleted-by": "demo/3"})
    decided = create_service.decide(step, create_service.Found(retired, {**scaling(0, 0), **PARKED}))
    assert (decided.service.action, decided.service.after) == ("change", {"desired_count": 4})
    assert (decided.scaling.action, decided.scaling.after["min"], decided.scaling.after["max"]) == ("change", 3, 8)
    assert create_service.expect(step, decided).changed == "desired count 0 -> 4, obsolete mark removed"


def test_a_rollback_refuses_a_retired_service_gone_or_someone_elses():
    step = event(action="rollback", version="2", restore={"desired_count": 2})
    gone = create_service.decide(step, create_service.Found(None))
    assert "no longer exists" in str(gone.refusal)
    other = {**service("2", 0), "tags": [{"key": "cutover:env", "value": "prod"}, {"key": "cutover:service", "value": "web"}]}
    assert isinstance(create_service.decide(step, create_service.Found(other)).refusal, ServiceConflict)


# -- RetireOldVersion --

LIVE = {"routes": [{"route": "www", "rule": "rule-www", "new": GROUP, "old": [OLD_GROUP], "forward": {OLD_GROUP: 1}}],
        "old_services": [{"ecs_service": "web-2", "version": "2", "target_groups": [OLD_GROUP]}]}
SHIFTED = {"written": {"www": {GROUP: 100, OLD_GROUP: 0}}}


def retire_event(**results) -> StepEvent:
    return event(live=LIVE, traffic=SHIFTED, **results)


def test_the_old_version_is_remembered_parked_and_scaled_to_zero():
    found = retire_old_version.Found({"rule-www": {GROUP: 100, OLD_GROUP: 0}},
                                     {"web-2": (service("2", 3), scaling(2, 6))}, None)
    decided = retire_old_version.decide(retire_event(), found)
    assert decided.refusal is None
    assert [(i.name, i.action) for i in decided.intents] == [("web-2", "change")]
    assert decided.retire == [{"ecs_service": "web-2", "version": "2", "desired_count": 3,
                               "autoscaling": scaling(2, 6), "changed": True}]
    (retirement,) = decided.retirements
    # The record remembers what a rollback restores, before anything changes
    assert retirement.writes["web-2"] == {"release": "r-1", "version": "2", "desired_count": 3, "autoscaling": scaling(2, 6)}
    assert retirement.result["changed"] == "scalable target min 2 max 6 parked at 0..0, scaling suspended; desired count 3 -> 0"


def test_a_rerun_after_the_retirement_changes_nothing_and_reports_what_was_remembered():
    parked = {**scaling(0, 0), **PARKED}
    record = {"retired": {"web-2": {"release": "r-1", "version": "2", "desired_count": 3, "autoscaling": scaling(2, 6)}}}
    found = retire_old_version.Found({"rule-www": {GROUP: 100, OLD_GROUP: 0}}, {"web-2": (service("2", 0), parked)}, record)
    decided = retire_old_version.decide(retire_event(), found)
    (retirement,) = decided.retirements
    assert retirement.writes is None and retirement.park is None and not retirement.to_zero
    assert decided.retire[0]["changed"] is False
    assert (retirement.result["desired_count_before"], retirement.result["autoscaling_before"]) == (3, {"min": 2, "max": 6})


def test_a_public_rule_changed_since_the_shift_refuses_the_retirement():
    found = retire_old_version.Found({"rule-www": {OLD_GROUP: 1}}, {"web-2": (service("2", 3), None)}, None)
    decided = retire_old_version.decide(retire_event(), found)
    assert isinstance(decided.refusal, RuleDrifted)
    # The retirement it would have made is still shown
    assert decided.retire[0]["changed"] is True


def test_someone_elses_or_a_gone_old_service_is_left_alone_and_nothing_is_remembered():
    theirs = {**service("2", 3), "tags": [{"key": "cutover:env", "value": "prod"}, {"key": "cutover:service", "value": "web"}]}
    live = {**LIVE, "old_services": [*LIVE["old_services"], {"ecs_service": "web-1", "version": "1", "target_groups": []}]}
    found = retire_old_version.Found({"rule-www": {GROUP: 100, OLD_GROUP: 0}},
                                     {"web-2": (theirs, None), "web-1": (None, None)}, None)
    decided = retire_old_version.decide(event(live=live, traffic=SHIFTED), found)
    assert [i.action for i in decided.intents] == ["keep", "keep"]
    assert all(r.writes is None and not r.to_zero for r in decided.retirements)
    assert [r.result["found"] for r in decided.retirements] == [
        "belongs to web version None in env prod; left alone", "service no longer exists"]


def test_no_old_version_means_nothing_to_retire():
    decided = retire_old_version.decide(event(live={**LIVE, "old_services": []}, traffic=SHIFTED),
                                        retire_old_version.Found({"rule-www": {GROUP: 100, OLD_GROUP: 0}}, {}, None))
    assert decided.intents == [] and retire_old_version.expect(event(), decided).found == "no old version to retire"
