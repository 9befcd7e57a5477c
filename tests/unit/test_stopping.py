"""What the undo of a stopped release reads from the newest history events, and decides from the account."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from cutover_steps.decisions import stopping

T0 = datetime(2026, 12, 7, 4, 0, tzinfo=timezone.utc)
SHIFT = "arn:aws:lambda:us-east-1:123456789012:function:cutover-ShiftTraffic"
WATCH = "arn:aws:lambda:us-east-1:123456789012:function:cutover-WatchAlarms"


def scheduled(function: str, at: datetime) -> dict:
    return {"type": "LambdaFunctionScheduled", "timestamp": at,
            "lambdaFunctionScheduledEventDetails": {"resource": function, "timeoutInSeconds": 120}}


def exited(state: dict) -> dict:
    return {"type": "TaskStateExited", "timestamp": T0, "stateExitedEventDetails": {"name": "x", "output": json.dumps(state)}}


def test_a_function_scheduled_and_never_seen_ending_is_still_running_until_its_timeout():
    # newest first: the stop, then the shift scheduled (no end), then the watch that ended
    events = [{"type": "ExecutionAborted", "timestamp": T0 + timedelta(seconds=3)},
              scheduled(SHIFT, T0 + timedelta(seconds=2)),
              {"type": "LambdaFunctionSucceeded", "timestamp": T0 + timedelta(seconds=1)},
              scheduled(WATCH, T0)]
    running = stopping.still_running(events)
    assert [r["function"] for r in running] == [SHIFT]
    until = stopping.may_run_until(running, {"cutover-ShiftTraffic": 60, "cutover-WatchAlarms": 0}, T0)
    assert until == T0 + timedelta(seconds=62)


def test_a_state_timeout_does_not_end_the_function_and_an_unknown_function_gets_lambdas_longest_limit():
    events = [{"type": "TaskTimedOut", "timestamp": T0}, scheduled(SHIFT, T0)]
    running = stopping.still_running(events)
    assert stopping.may_run_until(running, {}, T0) == T0 + timedelta(seconds=900)


def test_nothing_running_means_no_wait():
    events = [{"type": "LambdaFunctionSucceeded", "timestamp": T0}, scheduled(SHIFT, T0)]
    assert stopping.may_run_until(stopping.still_running(events), {SHIFT: 60}, T0) == T0


def test_the_history_read_stops_at_the_last_state_with_the_plan():
    newest = [exited({"plan": {"version": "2"}, "results": {"lock": {}}}), exited({"input": {}})]
    assert stopping.enough_read(newest[:1])
    assert stopping.newest_state_data(newest)["plan"] == {"version": "2"}
    assert not stopping.enough_read([scheduled(SHIFT, T0)])


def test_the_undo_decides_from_the_account():
    assert stopping.decide_from_account({}, new_weight=True, new_only=True, old_retired=True) == stopping.KEEP
    assert stopping.decide_from_account({}, new_weight=True, new_only=True, old_retired=False) == stopping.ROLL_BACK
    assert stopping.decide_from_account({}, new_weight=True, new_only=False, old_retired=False) == stopping.ROLL_BACK
    assert stopping.decide_from_account({}, new_weight=False, new_only=False, old_retired=False) == stopping.TEAR_DOWN


def test_the_undo_is_named_after_the_release_execution():
    release = "arn:aws:states:us-east-1:123456789012:execution:Cutover-Release:web-2"
    assert stopping.undo_execution_arn(release) == "arn:aws:states:us-east-1:123456789012:execution:Cutover-Release-Undo:web-2"
    assert len(stopping.undo_state_machine_name("x" * 80)) == 80
