"""What the undo of a release that ended outside its flow does, decided from how far it got.

A stop by hand, the execution timeout, or an error no Catch sees (`States.Runtime`) ends an
execution without running its undo states. The undo (`release.steps.stopped`) gives it the undo
a failure at that point would have had; `cutover status` and `cutover history` say the same
decision from the execution history, so the two never disagree. A release whose own undo failed
(its last state `UNDO_FAILED`) is handed over the same way, still holding its lock: the second
attempt runs under another role, once the failing state has stopped running.
"""
from __future__ import annotations

import json
from typing import Any

from release import unfinished

ENDED_OUTSIDE_THE_FLOW = {"ABORTED": "stopped by hand", "TIMED_OUT": "timed out", "FAILED": "failed outside its flow"}
# The Fail state of a release whose own undo did not finish: it ends with its lock held, for the second attempt.
UNDO_FAILED = "The release failed and could not be fully undone"

NOTHING, TEAR_DOWN, ROLL_BACK, KEEP = "nothing", "tear down", "roll back", "keep"


def last_state_data(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The state data as the last finished state left it: the plan and what each step found and changed."""
    data: dict[str, Any] = {}
    for event in events:
        output = (event.get("stateExitedEventDetails") or {}).get("output")
        try:
            state = json.loads(output) if output else None
        except ValueError:
            continue
        if isinstance(state, dict):
            data = state
    return data


def fail_states(events: list[dict[str, Any]]) -> list[str]:
    return [event["stateEnteredEventDetails"]["name"] for event in events if event["type"] == "FailStateEntered"]


def undo_failed(events: list[dict[str, Any]]) -> bool:
    return UNDO_FAILED in fail_states(events)


def undo_needed(status: str, events: list[dict[str, Any]]) -> bool:
    """Whether an execution that ended with `status` is left to the undo of stopped releases: any
    that ended outside its flow, and one that reached a Fail state only if its own undo failed."""
    if status not in ENDED_OUTSIDE_THE_FLOW:
        return False
    return not (status == "FAILED" and fail_states(events)) or undo_failed(events)


def how_it_ended(status: str, events: list[dict[str, Any]]) -> str:
    return "left half undone by its own undo" if undo_failed(events) else ENDED_OUTSIDE_THE_FLOW[status]


def decide(results: dict[str, Any]) -> str:
    """Which undo a release needs, from the results its finished states left."""
    if "lock" not in results:
        return NOTHING
    if "retire" in results:
        return KEEP
    if "traffic" in results:
        return ROLL_BACK
    return TEAR_DOWN


def left_for_next_release(results: dict[str, Any]) -> list[str]:
    """After the switch, the work the stop skipped: the next release of the service finishes it."""
    return [unfinished.LEFT_TO_DO[key][1] for key in unfinished.AFTER_A_STOP if key not in results]


def intent(results: dict[str, Any]) -> str:
    """The undo in words, before it is done (what `cutover status` says)."""
    decision = decide(results)
    if decision == NOTHING:
        return "nothing to undo: the release had not taken its lock"
    if decision == TEAR_DOWN:
        return "the prepared version is torn down; public traffic was not moved"
    if decision == ROLL_BACK:
        return ("the old version gets its capacity and autoscaling back and, once it is healthy, the public "
                "rules; then the new version is torn down")
    return keep_words(results)


def keep_words(results: dict[str, Any]) -> str:
    left = left_for_next_release(results)
    words = "nothing moved back: the new version serves all traffic and the old one is retired"
    return words + (f"; left for the next release: {'; '.join(left)}" if left else "")


def what_undo_did(status: str, events: list[dict[str, Any]]) -> str | None:
    """For `cutover status` and `history`: what the undo of an execution that ended outside its flow
    does, from its history; None when the flow's own states ended it."""
    if not undo_needed(status, events):
        return None
    return intent((last_state_data(events).get("results") or {}))
