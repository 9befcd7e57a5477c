"""ReadLiveRoutes decides on what it read, without AWS: the alarm refusal and the old versions behind
the public rules."""
from __future__ import annotations

from cutover_steps.config.models import DeployConfig
from cutover_steps.errors import AlarmFired
from cutover_steps.plan.models import build_plan
from cutover_steps.runtime.step import StepEvent
from cutover_steps.steps import read_live_routes
from tests.unit.configs import raw_config

RULE = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/demo/0123abcd/4567ef01/bbbb"
OLD = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/demo-web-2/2"
NEW = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/demo-web-3/3"
OLD_TAGS = {"cutover:env": "demo", "cutover:service": "web", "cutover:version": "2", "cutover:ecs-service": "web-2"}


def plan_json(alarms: list[str] = (), allow: bool = False, steps: list[int] = (50, 100)) -> dict:
    raw = raw_config()
    raw["release"].update(alarm_names=list(alarms), allow_alarms_before_switch=allow,
                          traffic_steps=[{"percent": p, "hold_seconds": 3} for p in steps])
    plan = build_plan(action="release", env="demo", version="3", image="web:3", environment={},
                      config=DeployConfig.model_validate(raw), release_id="r-1")
    return plan.model_dump(mode="json")


def event(plan: dict, **results) -> StepEvent:
    return StepEvent(raw={"plan": plan}, results={key: value.to_json() if hasattr(value, "to_json") else value
                                                  for key, value in results.items()})


def live_found(in_alarm: list[str] = (), new: str | None = NEW, forward: dict | None = None) -> read_live_routes.Found:
    rules = [{"route": "www", "rule": RULE, "forward": forward or {OLD: 1}, "new": new}]
    return read_live_routes.Found(["web-5xx"], list(in_alarm), [], rules, {OLD: OLD_TAGS})


# ReadLiveRoutes

def test_an_alarm_in_alarm_before_the_switch_refuses_the_step_naming_the_alarm_and_the_setting():
    # Given an alarm in ALARM and a config that does not allow it
    decided = read_live_routes.decide(event(plan_json(["web-5xx"])), live_found(["web-5xx"]))
    # Then the step is refused before anything changes, naming the alarm and how to go on regardless
    assert isinstance(decided.refusal, AlarmFired)
    assert "web-5xx" in str(decided.refusal) and "release.allow_alarms_before_switch" in str(decided.refusal)
    # And the plan still sees which version the release would retire
    assert [o["ecs_service"] for o in decided.live["old_services"]] == ["web-2"]


def test_an_alarm_the_config_allows_is_let_through_and_remembered_for_the_watch():
    decided = read_live_routes.decide(event(plan_json(["web-5xx"], allow=True)), live_found(["web-5xx"]))
    assert decided.refusal is None
    result = read_live_routes.expect(event(plan_json()), decided)
    assert result.alarms == {"watched": ["web-5xx"], "in_alarm": ["web-5xx"], "missing": []}
    assert "let through in ALARM: web-5xx" in result.describe()


def test_the_old_version_is_what_the_public_rule_forwards_to_besides_the_new_group():
    # Given a rule an interrupted release left at 50/50 between the old and the new version
    found = live_found(forward={OLD: 500, NEW: 500})
    decided = read_live_routes.decide(event(plan_json()), found)
    # Then only the old version retires, and the rule's forward and the groups' tags are there for the plan
    assert decided.refusal is None and decided.intents == []
    assert [(o["ecs_service"], o["version"]) for o in decided.live["old_services"]] == [("web-2", "2")]
    assert decided.live["routes"][0]["old"] == [OLD] and decided.live["routes"][0]["forward"] == {OLD: 500, NEW: 500}
    assert decided.tags[OLD]["cutover:version"] == "2"
    # And what was read is left as read
    assert "old" not in found.rules[0]


def test_a_plan_whose_new_group_is_not_created_yet_retires_every_group_the_rule_forwards_to():
    decided = read_live_routes.decide(event(plan_json()), live_found(new=None))
    expected = read_live_routes.expect(event(plan_json()), decided)
    assert expected.routes[0]["old"] == [OLD] and [o["ecs_service"] for o in expected.old_services] == ["web-2"]
