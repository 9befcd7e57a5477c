"""What the undo of a release that ended outside its flow does, decided from how far it got and
from what the account holds once no step of it can still be running.

A stop by hand, the execution timeout, or an error no Catch sees (`States.Runtime`) ends an
execution without running its undo states, and does not stop the step's function that runs: it
may change the account until its own timeout. The undo (`statemachine/undo.asl.json`, one
execution per release execution, named after it) waits for that, then decides here from the
public rules and the old version as they are (`decide_from_account`). `cutover status` and
`cutover history` say the intended undo from the execution history and what the undo's own
execution did. A release whose own undo failed (it ended with the error `UNDO_FAILED`) is handed over the
same way, still holding its lock.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from cutover_steps.decisions import unfinished

ENDED_OUTSIDE_THE_FLOW = {"ABORTED": "stopped by hand", "TIMED_OUT": "timed out", "FAILED": "failed outside its flow"}
# The error of the Fail state a release ends in when its own undo did not finish: it ends with its
# lock held, for the second attempt. Read by the error the definition gives that state, not its name.
UNDO_FAILED = "UndoFailed"

NOTHING, TEAR_DOWN, ROLL_BACK, KEEP = "nothing", "tear down", "roll back", "keep"


def last_state_data(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The state data as the last finished state left it, from the history oldest first."""
    return newest_state_data(reversed(events))


def fail_states(events: list[dict[str, Any]]) -> list[str]:
    return [event["stateEnteredEventDetails"]["name"] for event in events if event["type"] == "FailStateEntered"]


def undo_failed(events: list[dict[str, Any]]) -> bool:
    return any(event["type"] == "ExecutionFailed" and (event.get("executionFailedEventDetails") or {}).get("error") == UNDO_FAILED
               for event in events)


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
    return [unfinished.LEFT_TO_DO[key] for key in unfinished.AFTER_A_STOP if key not in results]


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


# -- The undo's own state machine and its executions -------------------------------------------------
UNDO_SUFFIX = "-Undo"
# A state machine name is at most 80 characters.
_NAME_MOST = 80


def undo_state_machine_name(release_state_machine_name: str) -> str:
    """The undo's state machine is named after the release's, so that every reader finds it from the
    release's ARN alone (the command line, the sweep, the stack)."""
    return release_state_machine_name[:_NAME_MOST - len(UNDO_SUFFIX)] + UNDO_SUFFIX


def undo_state_machine_arn(release_state_machine_arn: str) -> str:
    head, _, name = release_state_machine_arn.rpartition(":")
    return f"{head}:{undo_state_machine_name(name)}"


def undo_execution_arn(release_execution_arn: str) -> str:
    """The undo of an execution runs under the execution's own name: a second start of it (an event
    delivered twice, the sweep) is refused or returns the running one, never a second undo."""
    head, machine, name = release_execution_arn.rsplit(":", 2)
    return f"{head}:{undo_state_machine_name(machine)}:{name}"


def undo_input(release_execution_arn: str) -> dict[str, Any]:
    """The same input for every start of one execution's undo: StartExecution returns the running
    execution only for the same name and the same input."""
    return {"execution": release_execution_arn, "found": {}, "undo": {}, "health": {}}


# -- What the history says, read newest first ---------------------------------------------------------
# Events that end a Lambda invocation the state machine scheduled. A state's own timeout
# (TaskTimedOut, LambdaFunctionTimedOut is Lambda's) does not stop the function, so it is not here.
_FUNCTION_ENDED = {"TaskSucceeded", "TaskFailed", "TaskSubmitted", "TaskStartFailed", "TaskSubmitFailed",
                   "LambdaFunctionSucceeded", "LambdaFunctionFailed", "LambdaFunctionStartFailed",
                   "LambdaFunctionScheduleFailed", "LambdaFunctionTimedOut"}
_FUNCTION_SCHEDULED = {"TaskScheduled", "LambdaFunctionScheduled"}


def enough_read(newest_first: list[dict[str, Any]]) -> bool:
    """Whether the events read so far, newest first, hold all the undo needs: the state data of the
    last finished state that carries the plan (every older event matters no more)."""
    return "plan" in newest_state_data(newest_first) or any(e["type"] == "ExecutionStarted" for e in newest_first)


def newest_state_data(newest_first: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The state data as the last finished state left it: the plan and what each step found and changed."""
    for event in newest_first:
        output = (event.get("stateExitedEventDetails") or {}).get("output")
        try:
            state = json.loads(output) if output else None
        except ValueError:
            continue
        if isinstance(state, dict):
            return state
    return {}


def _function_of(event: dict[str, Any]) -> str:
    details = event.get("taskScheduledEventDetails") or event.get("lambdaFunctionScheduledEventDetails") or {}
    if "resource" in details and ":function:" in details["resource"]:
        return details["resource"]
    try:
        parameters = json.loads(details.get("parameters") or "{}")
    except ValueError:
        parameters = {}
    return str(parameters.get("FunctionName") or details.get("resource") or "")


def still_running(newest_first: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The functions the execution scheduled and never saw end, newest first: {function, scheduled_at}.
    Each end pairs with the newest unpaired schedule before it (states run one at a time, and the
    branches of a Parallel or Map end in order often enough; where they do not, a schedule that
    did end may be taken for one that did not, which only makes the undo wait longer)."""
    ended, running = 0, []
    for event in newest_first:
        if event["type"] in _FUNCTION_ENDED:
            ended += 1
        elif event["type"] in _FUNCTION_SCHEDULED:
            if ended:
                ended -= 1
            else:
                running.append({"function": _function_of(event), "scheduled_at": _iso(event["timestamp"])})
    return running


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _function_name(function: str) -> str:
    return function.rsplit(":function:", 1)[-1].split(":")[0]


def may_run_until(running: list[dict[str, Any]], timeouts: dict[str, int], now: datetime,
                  default_timeout: int = 900) -> datetime:
    """When the last function still running must have ended: its start plus its function's timeout
    (`timeouts`: function ARN or name -> seconds; Lambda stops it then, whatever it does); now when
    none runs. A function not listed gets Lambda's longest time limit."""
    by_name = {_function_name(function): seconds for function, seconds in timeouts.items()}
    until = now
    for function in running:
        timeout = timeouts.get(function["function"], by_name.get(_function_name(function["function"]), default_timeout))
        scheduled = datetime.fromisoformat(function["scheduled_at"])
        if scheduled.tzinfo is None:
            scheduled = scheduled.replace(tzinfo=timezone.utc)
        until = max(until, scheduled + timedelta(seconds=int(timeout)))
    return until


# -- What the account says, once nothing of the release runs -----------------------------------------
def decide_from_account(results: dict[str, Any], new_weight: bool, new_only: bool, old_retired: bool) -> str:
    """The undo from what the public rules and the old version hold now (read after every function of
    the release has ended), not from the history alone: a step that finished after the stop counts.

    The new version serves alone and the old one is retired: kept. The new version gets any public
    weight otherwise: rolled back (old back to capacity, healthy, then the rules). No public weight:
    the prepared version is torn down."""
    if new_only and old_retired:
        return KEEP
    if new_weight:
        return ROLL_BACK
    return TEAR_DOWN
