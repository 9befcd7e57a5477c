"""The live status line of `start --wait` and `status` during a rollback's health wait and a bake."""
from __future__ import annotations

import json

from cutover.output.status_line import phase, status_line


def events(*steps: tuple[str, dict | None]) -> list[dict]:
    """A history in which each (state, result) was entered and, when it has a result, returned it."""
    found = []
    for state, result in steps:
        found.append({"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": state}})
        if result is not None:
            found.append({"type": "LambdaFunctionSucceeded", "lambdaFunctionSucceededEventDetails": {"output": json.dumps(result)}})
            found.append({"type": "TaskStateExited", "stateExitedEventDetails": {"name": state}})
    return found


def ci_log_following(history: list[dict]):
    """A CI log (not a terminal) following release web-2, whose history is `history` as it is when looked at."""
    from cutover.output import progress

    class Sfn:
        def describe_execution(self, executionArn):
            return {"status": "RUNNING"}

        def get_execution_history(self, **_):
            return {"events": list(history)}

    shown: list = []
    return progress.Follower(Sfn(), "arn:aws:states:us-east-1:1:execution:m:web-2", shown.append, live=False), shown


def test_a_rollback_waiting_for_the_old_version_says_how_healthy_it_is():
    # (the check returned at its function's time limit, and runs again)
    history = events(("Check the old version's health", {"counts": [{"target_group": "demo-web-1", "healthy": 1, "required": 2}]}),
                     ("Check the old version's health", None))
    line = status_line(history, "RUNNING")
    assert line == "Check the old version's health - 1/2 healthy"
    # one phase with the check itself (a CI log gets no line per poll), not the new version's health wait
    assert phase(line) == phase("Check the old version's health - 0/2 healthy")
    assert phase(line) != phase("Check the new version's health")


def test_the_bake_says_the_old_version_is_still_warm():
    history = events(("Shift traffic to the new version", {"percent": 100, "bake_seconds": 60, "hold_until": 1060.0}),
                     ("Watch alarms while traffic holds", None))
    assert status_line(history, "RUNNING", now=1000.0) == \
        "Watch alarms while traffic holds - 100% new, baking with the old version warm, 60 s left"


def test_a_ci_log_shows_the_approval_wait_with_its_deadline_and_again_every_few_minutes(monkeypatch):
    from datetime import datetime, timezone

    from cutover.operations import executions as operations
    from cutover.output import progress
    from cutover.definition import states

    # Given a release waiting for approval since 10:00 UTC, its config's approval timeout an hour
    since = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)
    (load,) = states.of_step("LoadRelease")
    plan = {"action": "release", "routes": [{"route": {"name": "www", "preparing_url": "https://preparing.example/"}}],
            "config": {"release": {"approval": {"timeout_seconds": 3600}}}}
    history = events((load, plan)) + [
        {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": operations.APPROVAL_STATE}},
        {"type": "TaskScheduled", "taskScheduledEventDetails": {"parameters": json.dumps({"Payload": {"task_token": "t"}})}},
        {"type": "TaskSubmitted", "timestamp": since},
    ]
    for event in history:
        event.setdefault("timestamp", since)

    follower, shown = ci_log_following(history)
    # When a CI log (not a terminal) follows it for 12 minutes, looked at every minute
    for minute in range(13):
        monkeypatch.setattr(progress.time, "time", lambda minute=minute: since.timestamp() + 60 * minute + 5)
        follower.step()
    # Then it is told once with since, until and where to try it, then the line comes every five minutes
    (asked,) = [e for e in shown if e.kind == "waiting_for_approval"]
    assert "since 10:00 UTC" in asked.text and "until 2026-11-27 11:00 UTC" in asked.text
    assert "https://preparing.example/ (route www)" in asked.text and "cutover approve web-2" in asked.text
    lines = [e.text for e in shown if e.kind == "progress"]
    assert lines == [
        f"... {operations.APPROVAL_STATE} - waiting for an operator since 10:00 UTC (waited under a minute), "
        "until 2026-11-27 11:00 UTC (1 h 0 min left)",
        f"... {operations.APPROVAL_STATE} - waiting for an operator since 10:00 UTC (waited 5 min), "
        "until 2026-11-27 11:00 UTC (55 min left)",
        f"... {operations.APPROVAL_STATE} - waiting for an operator since 10:00 UTC (waited 10 min), "
        "until 2026-11-27 11:00 UTC (50 min left)",
    ]


def test_a_ci_log_that_saw_the_approval_state_before_its_request_was_sent_gets_the_line_of_the_wait(monkeypatch):
    from datetime import datetime, timezone

    from cutover.operations import executions as operations
    from cutover.output import progress
    from cutover.definition import states

    # Given a release that has entered the approval state and not sent its request yet
    since = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)
    (load,) = states.of_step("LoadRelease")
    plan = {"action": "release", "routes": [], "config": {"release": {"approval": {"timeout_seconds": 3600}}}}
    history = events((load, plan)) + [
        {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": operations.APPROVAL_STATE}},
        {"type": "TaskScheduled", "taskScheduledEventDetails": {"parameters": json.dumps({"Payload": {"task_token": "t"}})}},
    ]
    for event in history:
        event.setdefault("timestamp", since)

    follower, shown = ci_log_following(history)
    monkeypatch.setattr(progress.time, "time", lambda: since.timestamp() + 1)
    follower.step()
    # When the request is sent a second later and a CI log looks again
    history.append({"type": "TaskSubmitted", "timestamp": since})
    monkeypatch.setattr(progress.time, "time", lambda: since.timestamp() + 2)
    follower.step()
    # Then its last line says since when the release waits, not only that the state was entered
    lines = [e.text for e in shown if e.kind == "progress"]
    assert len(lines) == 2 and "since" not in lines[0], lines
    assert "waiting for an operator since 10:00 UTC" in lines[1], lines

def test_a_ci_log_shows_the_question_of_an_inconclusive_analysis_with_its_scorecard_deadline_and_answers(monkeypatch):
    from datetime import datetime, timezone

    from cutover.operations import executions as operations
    from cutover.output import progress
    from cutover.definition import states

    # Given a release whose 50 % hold ended inconclusive at 10:00 UTC and asks an operator (inconclusive: ask)
    since = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)
    (load,) = states.of_step("LoadRelease")
    (watch,) = states.of_step("WatchAlarms")
    plan = {"action": "release", "routes": [{"route": {"name": "www", "preparing_url": "https://preparing.example/"}}],
            "config": {"release": {"approval": {"timeout_seconds": 3600}}}}
    scorecard = {"verdict": "inconclusive", "percent": 50, "metrics": [
        {"name": "errors", "verdict": "inconclusive", "new": 0.0, "old": 0.0, "new_requests": 12, "old_requests": 13,
         "why": "new and old version had fewer than 200 requests (12 new, 13 old)"}]}
    asked = "the canary analysis is inconclusive at 50% to the new version: analysis inconclusive at 50% (…)"
    history = events((load, plan), ("Shift traffic to the new version", {"percent": 50, "hold_until": since.timestamp()}),
                     (watch, {"watched": [], "hold_over": True, "analysis": scorecard, "analysis_ask": asked})) + [
        {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": operations.ANALYSIS_QUESTION_STATE}},
        {"type": "TaskScheduled", "taskScheduledEventDetails": {"parameters": json.dumps(
            {"Payload": {"task_token": "t", "question": "analysis"}})}},
        {"type": "TaskSubmitted", "timestamp": since},
    ]
    for event in history:
        event.setdefault("timestamp", since)

    follower, shown = ci_log_following(history)
    # When a CI log follows it for 12 minutes, looked at every minute
    for minute in range(13):
        monkeypatch.setattr(progress.time, "time", lambda minute=minute: since.timestamp() + 60 * minute + 5)
        follower.step()
    # Then it is told once: since, until, what was asked, the scorecard and what each answer does
    (told,) = [e for e in shown if e.kind == "waiting_for_answer"]
    assert not [e for e in shown if e.kind == "waiting_for_approval"]
    assert told.text.startswith("waiting for an operator's answer since 10:00 UTC (waited under a minute), until "
                                "2026-11-27 11:00 UTC (1 h 0 min left): the canary analysis is inconclusive at 50%")
    assert "  analysis  inconclusive at 50%" in told.text and "fewer than 200 requests" in told.text
    assert "approve   cutover approve web-2   (the new version goes on)" in told.text
    assert "reject    cutover reject web-2 --reason '...'   (traffic is rolled back to the old version)" in told.text
    assert told.data["question"] == "analysis" and told.data["analysis"] == scorecard
    # and its status line is the wait's, a phase of its own (not the hold's loop), repeated every five minutes
    lines = [e.text for e in shown if e.kind == "progress"]
    assert len(lines) == 3 and lines[0] == (f"... {operations.ANALYSIS_QUESTION_STATE} - waiting for an operator since "
                                            "10:00 UTC (waited under a minute), until 2026-11-27 11:00 UTC (1 h 0 min left)")
    assert phase(lines[0][4:]) == operations.ANALYSIS_QUESTION_STATE
    assert phase(f"{watch} - 50% new, 3 s left") == phase("Shift traffic to the new version - 50% new") != operations.ANALYSIS_QUESTION_STATE
