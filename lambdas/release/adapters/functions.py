"""Lambda: invoke a user's check function synchronously and read its answer.

Lambda's Invoke answers 200 even when the function failed: the failure is in the FunctionError
field (X-Amz-Function-Error), with Lambda's error report as the payload. A function that does not
exist, or that the caller may not invoke, is a ClientError (ResourceNotFoundException,
AccessDeniedException); throttling (TooManyRequestsException) is left to the step's retry.
"""
from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from release.aws import client

# Invoke's synchronous request payload limit (Lambda quotas): the release context is far below it.
MAX_REQUEST_BYTES = 6 * 1024 * 1024


class InvokeRefused(Exception):
    """Lambda refused the invoke itself (no such function, not allowed…); the function did not run."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code


def invoke(function_arn: str, payload: dict[str, Any]) -> tuple[str | None, Any]:
    """(FunctionError or None, the decoded answer) of one synchronous invoke."""
    body = json.dumps(payload).encode()
    if len(body) > MAX_REQUEST_BYTES:
        # What Lambda itself answers: the check cannot run, which is the check's failure, not a crash.
        raise InvokeRefused("RequestEntityTooLargeException",
                            f"the check's request is {len(body)} bytes; Lambda takes at most {MAX_REQUEST_BYTES}")
    try:
        response = client("lambda").invoke(FunctionName=function_arn, InvocationType="RequestResponse", Payload=body)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("ResourceNotFoundException", "AccessDeniedException", "AccessDenied", "InvalidParameterValueException"):
            raise InvokeRefused(code, error.response["Error"].get("Message", "")) from error
        raise
    raw = response["Payload"].read()
    try:
        answer = json.loads(raw) if raw else None
    except ValueError:
        answer = raw.decode("utf-8", "replace")
    return response.get("FunctionError"), answer
