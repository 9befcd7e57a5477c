"""Step Functions as the command line uses it: executions started, described, answered and stopped,
their histories read, state machines found by name."""
from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from cutover.aws.errors import code_of

# What DescribeExecution answers for an execution that is not there (or an ARN of none).
NO_EXECUTION = ("ExecutionDoesNotExist", "InvalidArn", "ResourceNotFound")
# The undo's execution: its state machine may not be deployed yet either.
NO_UNDO = ("ExecutionDoesNotExist", "StateMachineDoesNotExist", "InvalidArn")


def start(sfn, state_machine_arn: str, start_input: dict[str, Any], name: str) -> str:
    """StartExecution; the execution's ARN."""
    return sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(start_input))["executionArn"]


def start_unless_named(sfn, state_machine_arn: str, start_input: dict[str, Any], name: str) -> bool:
    """Start the execution, or False when one of that name exists already (started a moment ago)."""
    try:
        start(sfn, state_machine_arn, start_input, name)
        return True
    except ClientError as error:
        if code_of(error) != "ExecutionAlreadyExists":
            raise
        return False


def describe(sfn, arn: str) -> dict[str, Any]:
    return sfn.describe_execution(executionArn=arn)


def describe_if_any(sfn, arn: str, missing: tuple[str, ...] = ("ExecutionDoesNotExist",)) -> dict[str, Any] | None:
    """DescribeExecution, or None when AWS answers one of the `missing` codes."""
    try:
        return describe(sfn, arn)
    except ClientError as error:
        if code_of(error) not in missing:
            raise
        return None


def history(sfn, arn: str) -> list[dict[str, Any]]:
    """Every event of the execution's history, oldest first."""
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": arn}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


# A page of the newest events: nearly always enough to hold the state entered last.
NEWEST_PAGE = 8


def newest_events(sfn, arn: str, enough) -> list[dict[str, Any]]:
    """The execution's events newest first, a page at a time, until `enough(events read so far)`:
    a question about now need not read (and have AWS send) a history of thousands of events."""
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": NEWEST_PAGE, "reverseOrder": True}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        if enough(events) or not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def answer(sfn, task_token: str, output: dict[str, Any]) -> bool:
    """SendTaskSuccess; False when the wait ended before the answer came (stopped, timed out or answered)."""
    try:
        sfn.send_task_success(taskToken=task_token, output=json.dumps(output))
        return True
    except ClientError as error:
        if code_of(error) not in ("TaskTimedOut", "InvalidToken"):
            raise
        return False


def stop(sfn, arn: str, error: str, cause: str) -> None:
    sfn.stop_execution(executionArn=arn, error=error, cause=cause)


def state_machine_named(sfn, name: str) -> str | None:
    """The ARN of the state machine of that name in this account and region, or None."""
    for page in sfn.get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            if machine["name"] == name:
                return machine["stateMachineArn"]
    return None
