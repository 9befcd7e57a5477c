"""AWS Step Functions: whether the execution holding a lock still runs, and an execution's history."""
from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from release.aws import client


def owner_running(execution_arn: str) -> bool:
    try:
        status = client("stepfunctions").describe_execution(executionArn=execution_arn)["status"]
    except ClientError as error:
        if error.response["Error"]["Code"] in ("ExecutionDoesNotExist", "InvalidArn"):
            return False
        raise
    return status == "RUNNING"


def history(execution_arn: str) -> list[dict[str, Any]]:
    """Every event of an execution, all pages (1,000 events a page, AWS's most; its default is 100)."""
    sfn, kwargs, events = client("stepfunctions"), {"executionArn": execution_arn, "maxResults": 1000}, []
    while True:
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]
