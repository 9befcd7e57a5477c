"""ReadLiveRoutes and ShiftTraffic decide on what they read, without AWS: the alarm refusal, the old
versions behind the public rules, each traffic step's weights, a drifted rule, and the plan's walk
over every traffic step."""
from __future__ import annotations

import pytest

from cutover_steps.config.models import DeployConfig
from cutover_steps.errors import AlarmFired, RuleDrifted
from cutover_steps.plan.models import build_plan
from cutover_steps.results import Traffic
from cutover_steps.runtime.protocol import StepProtocol
from cutover_steps.runtime.step import StepEvent
from cutover_steps.steps import read_live_routes, shift_traffic
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


def rule(forward: dict[str, int]) -> dict:
    """A public rule's description, as DescribeRules gives it."""
    return {"RuleArn": RULE, "Actions": [{"Type": "forward", "Order": 1, "ForwardConfig": {
        "TargetGroups": [{"TargetGroupArn": arn, "Weight": weight} for arn, weight in forward.items()]}}]}


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


# ShiftTraffic

def live(new: str | None = NEW, forward: dict | None = None) -> object:
    decided = read_live_routes.decide(event(plan_json()), live_found(new=new, forward=forward))
    return read_live_routes.expect(event(plan_json()), decided)


def test_the_first_traffic_step_sets_the_new_share_by_arn_and_shows_it_by_name():
    decided = shift_traffic.decide(event(plan_json(), live=live()), {"www": rule({OLD: 1})})
    assert decided.refusal is None and (decided.index, decided.percent, decided.last) == (0, 50, False)
    assert decided.by_route["www"].after == {NEW: 500, OLD: 500}
    [intent] = decided.intents
    assert (intent.action, intent.resource, intent.name) == ("change", "public rule", "www")
    assert (intent.before, intent.after) == ({"demo-web-2": 1}, {"demo-web-3": 500, "demo-web-2": 500})


def test_a_rule_someone_changed_after_the_release_wrote_it_refuses_the_step():
    # Given the first step was written, and someone put the rule back to the old version alone
    first = shift_traffic.decide(event(plan_json(), live=live()), {"www": rule({OLD: 1})})
    written = shift_traffic.expect(event(plan_json()), first)
    applied = Traffic(**{**written.to_json(), "planned": None, "hold_until": 1.0})
    decided = shift_traffic.decide(event(plan_json(), live=live(), traffic=applied), {"www": rule({OLD: 1})})
    # Then the step is refused, naming the route, and nothing is decided for the rule
    assert isinstance(decided.refusal, RuleDrifted) and "route www was changed outside this release" in str(decided.refusal)
    assert decided.intents == []
    # While the rule as the release wrote it goes on to the next step
    going_on = shift_traffic.decide(event(plan_json(), live=live(), traffic=applied), {"www": rule({NEW: 500, OLD: 500})})
    assert going_on.refusal is None and going_on.by_route["www"].after == {NEW: 1}


def plan_walk(plan: dict, found: dict, new: str | None) -> list[shift_traffic.Decided]:
    """As `cutover plan` walks the step: once per traffic step, each run handed the expected result of
    the one before; the account is never written, so every read sees the rule as it is."""
    forward = {group["TargetGroupArn"]: group["Weight"] for group in found["www"]["Actions"][0]["ForwardConfig"]["TargetGroups"]}
    walked, results = [], {"live": live(new=new, forward=forward)}
    for _ in range(shift_traffic.STEP.runs(event(plan, **results))):
        decided = shift_traffic.decide(event(plan, **results), found)
        walked.append(decided)
        results["traffic"] = shift_traffic.expect(event(plan, **results), decided)
    return walked


def test_the_plan_walks_every_traffic_step_each_from_what_the_one_before_would_have_written():
    walked = plan_walk(plan_json(steps=[25, 50, 100]), {"www": rule({OLD: 1})}, new=None)
    # Then no step is refused as drifted, though the rule as read never moved
    assert [d.refusal for d in walked] == [None, None, None]
    # And each step's weights start from the step before, by target group name (the new group has no ARN yet)
    shown = [(i.action, i.before, i.after, i.why) for d in walked for i in d.intents]
    assert shown == [
        ("change", {"demo-web-2": 1}, {"demo-web-3": 250, "demo-web-2": 750}, "25 % to the new version"),
        ("change", {"demo-web-3": 250, "demo-web-2": 750}, {"demo-web-3": 500, "demo-web-2": 500}, "50 % to the new version"),
        ("change", {"demo-web-3": 500, "demo-web-2": 500}, {"demo-web-3": 1}, "100 % to the new version"),
    ]
    assert walked[-1].last and [d.index for d in walked] == [0, 1, 2]


def test_a_rule_already_on_the_new_version_is_kept_at_every_step_of_the_plan():
    walked = plan_walk(plan_json(), {"www": rule({NEW: 1})}, new=NEW)
    assert [(i.action, i.why) for d in walked for i in d.intents] == [("keep", "already at 50 %"), ("keep", "already at 100 %")]
    assert [d.refusal for d in walked] == [None, None]


def test_a_refused_step_changes_nothing():
    # Given a step whose decision is a refusal, run through the protocol
    calls = []
    step = StepProtocol(
        read=lambda e: {"www": rule({OLD: 1})},
        decide=lambda e, found: shift_traffic.Decided(0, 50, 0, 0, False, [], {}, found, {}, RuleDrifted("drifted")),
        apply=lambda e, decided: calls.append("apply"), expect=shift_traffic.expect)
    with pytest.raises(RuleDrifted):
        step.run(event(plan_json()))
    assert calls == []
