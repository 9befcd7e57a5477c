"""AWS Step Functions: whether the execution holding a lock still runs, an execution's newest
history (or its whole history, for the ledger), and starting the undo of an execution that ended outside its flow."""
from __future__ import annotations

import json
from typing import Any, Callable

from botocore.exceptions import ClientError

from cutover_steps.adapters.clients import client

# GetExecutionHistory's default page; the undo usually finds what it needs in the first one.
NEWEST_PAGE = 100


def status(execution_arn: str) -> str | None:
    """RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED…; None when there is no such execution."""
    try:
        return client("stepfunctions").describe_execution(executionArn=execution_arn)["status"]
    except ClientError as error:
        if error.response["Error"]["Code"] in ("ExecutionDoesNotExist", "InvalidArn"):
            return None
        raise


def owner_running(execution_arn: str) -> bool:
    return status(execution_arn) == "RUNNING"


def newest_history(execution_arn: str, enough: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
    """The execution's events newest first, a page at a time, until `enough(events read so far)`:
    what an undo needs is at the end of a history that may hold 25,000 events."""
    sfn = client("stepfunctions")
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": NEWEST_PAGE, "reverseOrder": True}
    events: list[dict[str, Any]] = []
    while True:
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        if enough(events) or not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def history(execution_arn: str) -> list[dict[str, Any]]:
    """The execution's whole history, oldest first: the ledger reads who started and approved a
    release, and how it ended, from an execution that has ended."""
    events = newest_history(execution_arn, enough=lambda _: False)
    return events[::-1]


def start(state_machine_arn: str, name: str, payload: dict[str, Any]) -> tuple[str, bool]:
    """(execution ARN, started now): StartExecution with this name, which returns the running
    execution for the same name and input; False when one of that name has ended already."""
    sfn = client("stepfunctions")
    arn = f"{state_machine_arn.replace(':stateMachine:', ':execution:')}:{name}"
    try:
        started = sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload, sort_keys=True))
    except ClientError as error:
        if error.response["Error"]["Code"] == "ExecutionAlreadyExists":
            return arn, False
        raise
    return started["executionArn"], True
