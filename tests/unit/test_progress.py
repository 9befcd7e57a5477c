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
