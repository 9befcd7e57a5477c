"""The state machine's retry policy, stated once: the Retry blocks of every Lambda Task.

The definition keeps its Retry blocks, so that a reader of the one file that is deployed and run
locally sees what each state retries; they are derived from here and from `cutover_steps.errors`, written
into the definition by `make retries`, and a test fails when the definition differs.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

from cutover_steps.errors import domain_errors
from cutover_steps.registry import INTEGRATIONS

# The Lambda service's own transient errors (AWS's recommended retrier for Lambda tasks).
LAMBDA_SERVICE = {
    "ErrorEquals": ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
                    "Lambda.ClientExecutionTimeoutException", "Lambda.TooManyRequestsException"],
    "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2, "JitterStrategy": "FULL",
}
# A timeout of the state (not of the function) means the step hung past its whole budget: running it
# again would double the wait before the compensation.
STATE_TIMEOUTS = ["States.Timeout", "States.HeartbeatTimeout"]


def lambda_task() -> list[dict[str, Any]]:
    """The Retry blocks of a Task that invokes a release step, the approval request included: a
    retried approval request asks again with a new task token (the first one is refused from then
    on), so the release still never goes on without an answer; a rejection is an answer, not an error."""
    errors = domain_errors()
    return [
        dict(LAMBDA_SERVICE),
        # The SDK has already retried each call; the step runs again later, spread out.
        {"ErrorEquals": [e.__name__ for e in errors if e.retried],
         "IntervalSeconds": 1, "MaxAttempts": 5, "BackoffRate": 2, "MaxDelaySeconds": 30, "JitterStrategy": "FULL"},
        {"ErrorEquals": [e.__name__ for e in errors if not e.retried] + STATE_TIMEOUTS, "MaxAttempts": 0},
        # Anything else is the function dying (a crash, its own timeout): steps are re-runnable.
        {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2, "JitterStrategy": "FULL"},
    ]


def expected(state: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The Retry blocks a Task state must have, or None for a state this policy does not cover."""
    resource = state.get("Resource", "")
    if resource.endswith("FunctionArn}"):
        return lambda_task()
    name = resource.removeprefix("${").removesuffix("}")
    if INTEGRATIONS.get(name, "").startswith("lambda:invoke"):
        return lambda_task()
    return None  # the SNS notifications keep a retrier of their own


def tasks(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        if state["Type"] == "Task":
            yield name, state
        for branch in state.get("Branches", []):
            yield from tasks(branch["States"])


def write(path: str) -> list[str]:
    """Rewrite the definition's Lambda Retry blocks from the policy; returns the states changed."""
    with open(path, encoding="utf-8") as f:
        definition = json.load(f)
    changed = []
    for name, state in tasks(definition["States"]):
        blocks = expected(state)
        if blocks is not None and state.get("Retry") != blocks:
            state["Retry"] = blocks
            changed.append(name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(definition, indent=2, ensure_ascii=False) + "\n")
    return changed


if __name__ == "__main__":
    for changed in write(sys.argv[1]):
        print(f"Retry rewritten: {changed}")
