"""AWS error codes that mean the same thing whichever call gets them, turned into domain errors.

Installed on every client the steps use (`cutover_steps.adapters.clients.client`), after the SDK's own retries: what
reaches a step is already the domain error the state machine's Retry and Catch match.
"""
from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from cutover_steps.errors import AwsThrottled

# An AWS answer refusing a call, as the steps catch it: only the adapters know it is botocore's ClientError.
AwsRefusal = ClientError

THROTTLING_CODES = {
    "Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException",
    "RequestLimitExceeded", "ProvisionedThroughputExceededException", "RequestThrottled",
}


def code_of(parsed: dict[str, Any]) -> str | None:
    error = parsed.get("Error") or {}
    return error.get("QueryErrorCode") or error.get("Code")


def refusal_text(error: ClientError) -> str:
    """`Code: Message` of a refused call, as a step reports what it skipped."""
    return f"{error.response['Error']['Code']}: {error.response['Error']['Message']}"


def translate(http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
    """botocore's after-call event: raise the domain error for an answer that is one."""
    if http_response is None or http_response.status_code < 300:
        return
    code = code_of(parsed)
    if code in THROTTLING_CODES:
        message = (parsed.get("Error") or {}).get("Message", "")
        raise AwsThrottled(f"{model.service_model.service_name} {model.name} was still throttled after the SDK's "
                           f"retries ({code}: {message})", code=code)


def install(client: Any) -> None:
    client.meta.events.register("after-call.*.*", translate)
