"""Lambda: invoke a user's check function synchronously and read its answer.

Lambda's Invoke answers 200 even when the function failed: the failure is in the FunctionError
field (X-Amz-Function-Error), with Lambda's error report as the payload. A function that does not
exist, or that the caller may not invoke, is a ClientError (ResourceNotFoundException,
AccessDeniedException); throttling (TooManyRequestsException) is left to the step's retry.
"""
from __future__ import annotations

import json
import time
from typing import Any

from botocore.exceptions import ClientError, ReadTimeoutError

from cutover_steps.adapters.clients import client

# Invoke's synchronous request payload limit (Lambda quotas): the release context is far below it.
MAX_REQUEST_BYTES = 6 * 1024 * 1024


class InvokeRefused(Exception):
    """Lambda refused the invoke itself (no such function, not allowed…); the function did not run."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code


class TimedOut(Exception):
    """The function did not answer within the check's budget; what it answers later is not read."""


def invoke(function_arn: str, payload: dict[str, Any], budget_seconds: int, read_margin: int) -> tuple[str | None, Any]:
    """(FunctionError or None, the decoded answer) of one synchronous invoke, sent once (no SDK retry:
    a retried slow check would run several times and take several budgets), waiting for its answer
    `read_margin` s beyond `budget_seconds`; TimedOut past the budget."""
    body = json.dumps(payload).encode()
    if len(body) > MAX_REQUEST_BYTES:
        # What Lambda itself answers: the check cannot run, which is the check's failure, not a crash.
        raise InvokeRefused("RequestEntityTooLargeException",
                            f"the check's request is {len(body)} bytes; Lambda takes at most {MAX_REQUEST_BYTES}")
    started = time.monotonic()
    try:
        response = client("lambda", read_timeout=budget_seconds + read_margin).invoke(
            FunctionName=function_arn, InvocationType="RequestResponse", Payload=body)
    except ReadTimeoutError as error:
        raise TimedOut(f"no answer within {budget_seconds + read_margin} s") from error
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("ResourceNotFoundException", "AccessDeniedException", "AccessDenied", "InvalidParameterValueException"):
            raise InvokeRefused(code, error.response["Error"].get("Message", "")) from error
        raise
    took = time.monotonic() - started
    if took > budget_seconds:
        raise TimedOut(f"answered after {took:.1f} s")
    raw = response["Payload"].read()
    try:
        answer = json.loads(raw) if raw else None
    except ValueError:
        answer = raw.decode("utf-8", "replace")
    return response.get("FunctionError"), answer
