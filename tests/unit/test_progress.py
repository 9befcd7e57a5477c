"""The live status line of `start --wait` and `status` during a rollback's health wait and a bake."""
from __future__ import annotations

import json

from cutover.progress import phase, status_line


def events(*steps: tuple[str, dict | None]) -> list[dict]:
    """A history in which each (state, result) was entered and, when it has a result, returned it."""
    found = []
    for state, result in steps:
        found.append({"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": state}})
        if result is not None:
            found.append({"type": "LambdaFunctionSucceeded", "lambdaFunctionSucceededEventDetails": {"output": json.dumps(result)}})
            found.append({"type": "TaskStateExited", "stateExitedEventDetails": {"name": state}})
    return found


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

    from cutover import operations, progress, states

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

    class Sfn:
        def describe_execution(self, executionArn):
            return {"status": "RUNNING"}

        def get_execution_history(self, **_):
            return {"events": history}

    shown = []
    follower = progress.Follower(Sfn(), "arn:aws:states:us-east-1:1:execution:m:web-2", shown.append, live=False)
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
