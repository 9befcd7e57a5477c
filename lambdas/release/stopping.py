"""What the undo of a release that ended outside its flow does, decided from how far it got.

A stop by hand, the execution timeout, or an error no Catch sees (`States.Runtime`) ends an
execution without running its undo states. The undo (`release.steps.stopped`) gives it the undo
a failure at that point would have had; `cutover status` and `cutover history` say the same
decision from the execution history, so the two never disagree.
"""
from __future__ import annotations

import json
from typing import Any

from release import unfinished

ENDED_OUTSIDE_THE_FLOW = {"ABORTED": "stopped by hand", "TIMED_OUT": "timed out", "FAILED": "failed outside its flow"}

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


def ended_in_its_own_states(events: list[dict[str, Any]]) -> bool:
    """A release that reached one of its Fail states has been undone by the flow itself."""
    return any(event["type"] == "FailStateEntered" for event in events)


def undo_needed(status: str, events: list[dict[str, Any]]) -> bool:
    """Whether an execution that ended with `status` is left to the undo of stopped releases."""
    return status in ENDED_OUTSIDE_THE_FLOW and not (status == "FAILED" and ended_in_its_own_states(events))


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
    return [left for key, (_, left) in unfinished.LEFT_TO_DO.items() if key not in results and key != "notify"]


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
