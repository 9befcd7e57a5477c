"""What people and scripts do with releases, against AWS or the local engine alike: start,
follow, approve or reject (the task token is found in the execution history), read history.
"""
from __future__ import annotations

import getpass
import json
import time
from typing import Any, Iterator

APPROVAL_STATE = "Wait for an operator's approval"
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


class OperationError(Exception):
    """Something the operator asked for cannot be done; the message says why."""


def start(sfn, state_machine_arn: str, start_input: dict[str, Any], name: str) -> str:
    return sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(start_input))["executionArn"]


def history(sfn, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def current_state(events: list[dict[str, Any]]) -> str | None:
    """The state entered last and not exited yet."""
    open_state = None
    for event in events:
        if event["type"].endswith("StateEntered"):
            open_state = event["stateEnteredEventDetails"]["name"]
        elif event["type"].endswith("StateExited") and open_state == event["stateExitedEventDetails"]["name"]:
            open_state = None
    return open_state


def pending_task_token(sfn, execution_arn: str) -> str | None:
    """The task token of the approval the execution waits on now, from its TaskScheduled event."""
    events = history(sfn, execution_arn)
    if current_state(events) != APPROVAL_STATE:
        return None
    for event in reversed(events):
        if event["type"] == "TaskScheduled":
            parameters = json.loads(event["taskScheduledEventDetails"]["parameters"])
            token = parameters.get("Payload", {}).get("task_token")
            if token:
                return token
        if event["type"] == "TaskStateEntered":
            break
    return None


def _decide(sfn, execution_arn: str, decision: dict[str, Any], timeout: float = 0) -> None:
    deadline = time.time() + timeout
    while True:
        token = pending_task_token(sfn, execution_arn)
        if token:
            sfn.send_task_success(taskToken=token, output=json.dumps(decision))
            return
        status = sfn.describe_execution(executionArn=execution_arn)["status"]
        if status != "RUNNING" or time.time() >= deadline:
            raise OperationError(
                f"{execution_arn} is not waiting for approval (status {status}, state "
                f"{current_state(history(sfn, execution_arn)) or '-'})"
            )
        time.sleep(0.2)


def approve(sfn, execution_arn: str, *, by: str | None = None, comment: str = "", wait_seconds: float = 0) -> None:
    _decide(sfn, execution_arn, {"decision": "approve", "by": by or getpass.getuser(), "comment": comment}, wait_seconds)


def reject(sfn, execution_arn: str, *, reason: str, by: str | None = None, wait_seconds: float = 0) -> None:
    if not reason.strip():
        raise OperationError("--reason: say why the release is rejected; it goes into the audit history")
    _decide(sfn, execution_arn, {"decision": "reject", "by": by or getpass.getuser(), "reason": reason}, wait_seconds)


def wait(sfn, execution_arn: str, timeout: float = 600, poll: float = 0.2) -> dict[str, Any]:
    deadline = time.time() + timeout
    while True:
        description = sfn.describe_execution(executionArn=execution_arn)
        if description["status"] in TERMINAL or time.time() >= deadline:
            return description
        time.sleep(poll)


def wait_for_state(sfn, execution_arn: str, state: str, timeout: float = 120) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        events = history(sfn, execution_arn)
        if current_state(events) == state:
            return True
        if sfn.describe_execution(executionArn=execution_arn)["status"] in TERMINAL:
            return False
        time.sleep(0.2)
    return False


def step_results(events: list[dict[str, Any]]) -> Iterator[tuple[str, Any]]:
    """(state name, what the step returned) for every Lambda step, in order."""
    scheduled: str | None = None
    for event in events:
        if event["type"] == "TaskStateEntered":
            scheduled = event["stateEnteredEventDetails"]["name"]
        elif event["type"] == "TaskSucceeded" and scheduled:
            output = json.loads(event["taskSucceededEventDetails"].get("output") or "null")
            yield scheduled, output
