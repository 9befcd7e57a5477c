"""Step Functions executions: whether the one holding a lock still runs."""
from __future__ import annotations

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
