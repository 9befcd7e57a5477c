"""Alarm watch through the real definition: an alarm stops or rolls back a release."""
from __future__ import annotations

import time

from cutover.operations import executions as operations
from cutover.local import lambdas
from cutover_steps.steps import watch_alarms as alarms
from tests.e2e.safety_fixtures import (
    assert_torn_down, assert_v1_serves_as_before, config_with, entered, finish, lock_item, start, tags,
)

ALARM = "web-5xx"
HOLD_STATE = "Watch alarms while traffic holds"


def create_alarm(demo, name: str = ALARM) -> None:
    demo.client("cloudwatch").put_metric_alarm(
        AlarmName=name, Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_5XX_Count",
        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=5, ComparisonOperator="GreaterThanOrEqualToThreshold",
    )


def set_alarm(demo, state: str, name: str = ALARM) -> None:
    demo.client("cloudwatch").set_alarm_state(AlarmName=name, StateValue=state, StateReason="5xx from the new version")


def test_alarm_during_the_hold_rolls_traffic_back(demo):
    # Given a watched alarm, and a long hold with old and new together
    create_alarm(demo)
    config = config_with(demo, alarm_names=[ALARM], alarm_check_seconds=1,
                         traffic_steps=[{"percent": 50, "hold_seconds": 60}, {"percent": 100, "hold_seconds": 0}])
    arn = start(demo, "2", config)
    assert operations.wait_for_state(demo.sfn, arn, HOLD_STATE, 60)
    assert demo.forward(demo.public_rule) == {"demo-web-1": 500, "demo-web-2": 500}

    # When the alarm goes into ALARM while traffic holds
    set_alarm(demo, "ALARM")
    result = finish(demo, arn)

    # Then the release failed with AlarmFired, naming the alarm and what was rolled back,
    assert result["status"] == "FAILED"
    assert result["error"] == "AlarmFired", result.get("cause")
    assert f"alarm {ALARM} went into ALARM at 50%" in result["cause"]
    assert "Rolled back: public rules back on the old version (1 of 1)" in result["cause"]
    # the public rule forwards to v1 only, which keeps its count and autoscaling,
    assert_v1_serves_as_before(demo)
    assert "cutover:obsolete-since" not in tags(demo, "web-1")
    # v2 is scaled to zero and marked obsolete, the preparing rule is back on v1, the lock is free
    assert_torn_down(demo, "web-2")
    assert demo.forward(demo.preparing_rule) == {"demo-web-1": 1}
    assert lock_item(demo) is None


def test_alarm_already_firing_stops_the_release_before_traffic_moves(demo):
    # Given a watched alarm that is in ALARM before the release
    create_alarm(demo)
    set_alarm(demo, "ALARM")
    config = config_with(demo, alarm_names=[ALARM])

    # When v2 is released
    arn = start(demo, "2", config)
    result = finish(demo, arn)

    # Then it stops before the switch with a clear error, traffic never moved, v2 is torn down
    assert result["status"] == "FAILED"
    assert result["error"] == "AlarmFired", result.get("cause")
    assert f"alarms already in ALARM before the switch: {ALARM}" in result["cause"]
    assert "Public traffic was not moved" in result["cause"]
    assert "Shift traffic to the new version" not in [
        e["stateEnteredEventDetails"]["name"] for e in operations.history(demo.sfn, arn) if e["type"].endswith("StateEntered")
    ]
    assert_v1_serves_as_before(demo)
    assert_torn_down(demo, "web-2")
    assert lock_item(demo) is None


def test_alarm_already_firing_is_let_through_when_configured(demo):
    # Given an alarm in ALARM before the release, a config that accepts that, and a second alarm
    create_alarm(demo)
    set_alarm(demo, "ALARM")
    create_alarm(demo, "web-latency")
    config = config_with(demo, alarm_names=[ALARM, "web-latency"], allow_alarms_before_switch=True)

    # When v2 is released
    result = finish(demo, start(demo, "2", config))

    # Then the alarm that was already firing neither stops nor rolls back the release
    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert demo.forward(demo.public_rule) == {"demo-web-2": 1}


def test_alarm_during_the_bake_switches_back_at_once_to_the_warm_old_version(demo):
    # Given a watched alarm and a bake after 100 %
    create_alarm(demo)
    config = config_with(demo, alarm_names=[ALARM], alarm_check_seconds=1, bake_seconds=60)
    arn = start(demo, "2", config)
    deadline = time.time() + 60
    while demo.forward(demo.public_rule) != {"demo-web-2": 1} and time.time() < deadline:
        time.sleep(0.2)
    assert operations.wait_for_state(demo.sfn, arn, HOLD_STATE, 60)
    # v1 is still warm during the bake: its tasks and autoscaling are kept
    assert demo.service("web-1")["desiredCount"] == 2 and demo.scalable_target("web-1") is not None

    # When the alarm goes into ALARM during the bake
    set_alarm(demo, "ALARM")
    result = finish(demo, arn)

    # Then traffic went back to v1 (healthy all along, so at once) and v2 was torn down
    assert result["status"] == "FAILED"
    assert result["error"] == "AlarmFired", result.get("cause")
    assert "at 100% to the new version during the bake" in result["cause"]
    assert "Rolled back: public rules back on the old version (1 of 1)" in result["cause"]
    states = entered(demo, arn)
    assert "Retire the old version" not in states
    assert states.count("Check the old version's health") == 1
    assert_v1_serves_as_before(demo)
    assert_torn_down(demo, "web-2")
    assert lock_item(demo) is None


def test_after_a_quiet_bake_the_old_version_is_retired(demo):
    # Given a watched alarm that stays OK and a short bake
    create_alarm(demo)
    config = config_with(demo, alarm_names=[ALARM], alarm_check_seconds=1, bake_seconds=3)

    # When v2 is released
    arn = start(demo, "2", config)
    result = finish(demo, arn)

    # Then the old version was retired only after the bake, and v2 serves alone
    assert result["status"] == "SUCCEEDED", result.get("cause")
    last_shift = [r for s, r in operations.step_results(operations.history(demo.sfn, arn))
                  if s == "Shift traffic to the new version"][-1]
    assert (last_shift["percent"], last_shift["bake_seconds"]) == (100, 3)
    # watched through the bake, a look each second, in one invocation
    watch = [r for s, r in operations.step_results(operations.history(demo.sfn, arn)) if s == HOLD_STATE][-1]
    assert watch["hold_over"] and watch["looks"] >= 3, watch
    states = entered(demo, arn)
    after_last_shift = states[len(states) - states[::-1].index("Shift traffic to the new version"):]
    assert after_last_shift.index("Retire the old version") > after_last_shift.index(HOLD_STATE)
    assert demo.forward(demo.public_rule) == {"demo-web-2": 1}
    assert demo.service("web-1")["desiredCount"] == 0 and demo.parked("web-1")


def test_a_hold_longer_than_the_watch_functions_time_limit_is_watched_on_to_its_end(demo):
    # Given a watch function whose time limit covers about three seconds of a hold, and a longer hold
    lambdas.time_limits["WatchAlarms"] = alarms.LOOK_MARGIN_SECONDS + 4
    create_alarm(demo)
    config = config_with(demo, alarm_names=[ALARM], alarm_check_seconds=1,
                         traffic_steps=[{"percent": 50, "hold_seconds": 30}, {"percent": 100, "hold_seconds": 0}])
    arn = start(demo, "2", config)

    # When the alarm goes into ALARM once the watch has reached its time limit and runs again
    deadline = time.time() + 60
    while len(_watches(demo, arn)) < 2 and time.time() < deadline:
        time.sleep(0.2)
    set_alarm(demo, "ALARM")
    result = finish(demo, arn)

    # Then each watch before it returned at its time limit with the hold not over, having looked
    # every second, and the run after it saw the alarm and rolled traffic back
    watches = _watches(demo, arn)
    assert len(watches) >= 2 and all(not w["hold_over"] and w["looks"] >= 2 for w in watches), watches
    assert result["status"] == "FAILED" and result["error"] == "AlarmFired", result.get("cause")
    assert f"alarm {ALARM} went into ALARM at 50%" in result["cause"]
    assert_v1_serves_as_before(demo)
    assert_torn_down(demo, "web-2")


def _watches(demo, arn: str) -> list[dict]:
    return [r for s, r in operations.step_results(operations.history(demo.sfn, arn)) if s == HOLD_STATE]
