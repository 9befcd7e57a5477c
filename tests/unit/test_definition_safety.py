"""The state machine definition's safety nets: retries, timeouts, heartbeat, compensation, unlock."""
from __future__ import annotations

import json
import re

import pytest

from cutover import DEFINITION
from cutover_steps.runtime import retries
from cutover_steps.decisions import stopping
from cutover_steps.errors import ReleaseError, domain_errors
from cutover_steps.registry import BY_KEY, INTEGRATIONS

LAMBDA_SERVICE_ERRORS = {
    "Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
    "Lambda.ClientExecutionTimeoutException", "Lambda.TooManyRequestsException",
}
TEARDOWN = "Tear down the prepared version"
ROLLBACK = "Bring the old version back to its capacity"
LOCK = "Lock the service"
UNLOCKS = {"Release the lock", "Release the lock after a failure"}


def load() -> dict:
    with open(DEFINITION, encoding="utf-8") as f:
        return json.load(f)


STATES = load()["States"]
TASKS = {name: state for name, state in STATES.items() if state["Type"] == "Task"}


def is_lambda(state: dict) -> bool:
    resource = state["Resource"]
    return resource.endswith("FunctionArn}") or ":lambda:" in resource


def waits_for_a_token(state: dict) -> bool:
    """A `.waitForTaskToken` integration (its ARN is substituted whole, in the stack's partition)."""
    name = state["Resource"].removeprefix("${").removesuffix("}")
    return INTEGRATIONS.get(name, "").endswith(".waitForTaskToken")


def retried(state: dict) -> set[str]:
    return {error for retry in state.get("Retry", []) if retry.get("MaxAttempts", 3) > 0 for error in retry["ErrorEquals"]}


def successors(state: dict) -> set[str]:
    found = {state.get("Next"), state.get("Default")}
    found |= {c["Next"] for c in state.get("Catch", [])}
    found |= {c["Next"] for c in state.get("Choices", [])}
    return {n for n in found if n}


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_task_has_a_timeout(name):
    state = TASKS[name]
    assert "TimeoutSeconds" in state or "TimeoutSecondsPath" in state


@pytest.mark.parametrize("name", sorted(n for n, s in TASKS.items() if is_lambda(s)))
def test_every_lambda_task_retries_lambda_service_errors_and_throttling(name):
    state = TASKS[name]
    assert LAMBDA_SERVICE_ERRORS <= retried(state)
    throttled = [r for r in state["Retry"] if "AwsThrottled" in r["ErrorEquals"]]
    assert throttled and throttled[0]["MaxAttempts"] >= 3 and throttled[0].get("JitterStrategy") == "FULL"


@pytest.mark.parametrize("name", sorted(n for n, s in TASKS.items() if is_lambda(s)))
def test_every_lambda_task_retries_as_the_one_policy_says(name):
    # The policy is stated once (cutover_steps.runtime.retries, from cutover_steps.errors); `make retries` writes it here
    assert TASKS[name]["Retry"] == retries.expected(TASKS[name]), "the definition is stale: run `make retries`"


def test_an_error_class_made_outside_the_cutover_steps_package_does_not_change_the_policy():
    # Given a test's own error (as the e2e tests raise through faults), alive in the same process
    class MadeByATest(ReleaseError):
        """Not one of the named errors."""

    # Then the named errors, and the Retry blocks derived from them, are those of cutover_steps.errors
    assert MadeByATest not in domain_errors()
    for state in TASKS.values():
        if is_lambda(state):
            assert state["Retry"] == retries.expected(state)


def step_of(state: dict) -> str | None:
    """The registry key of the step a task invokes (`${<key>FunctionArn}`), directly or through a waitForTaskToken."""
    text = json.dumps({"Resource": state["Resource"], "Parameters": state.get("Parameters", {})})
    found = re.search(r"\$\{(\w+)FunctionArn\}", text)
    return found.group(1) if found else None


@pytest.mark.parametrize("name", sorted(n for n, s in TASKS.items() if step_of(s) and "TimeoutSeconds" in s))
def test_a_task_outlasts_its_function_so_lambdas_own_timeout_is_what_fails(name):
    # If the state timed out first, the failure would be a States.Timeout, which is not retried,
    # instead of the function's timeout error, which is.
    state = TASKS[name]
    assert state["TimeoutSeconds"] > BY_KEY[step_of(state)].timeout_seconds


def test_no_arn_of_one_partition_is_written_into_the_definition():
    # Service integrations are substituted whole, in the stack's partition (aws, aws-cn, aws-us-gov…).
    integrations = {s["Resource"] for s in TASKS.values() if not s["Resource"].endswith("FunctionArn}")}
    assert integrations == {f"${{{name}}}" for name in INTEGRATIONS}
    assert "arn:aws" not in json.dumps(load())


def would_retry(state: dict, error: str) -> bool:
    """As Step Functions matches: the first retrier naming the error (or States.ALL) decides."""
    for retry in state.get("Retry", []):
        if error in retry["ErrorEquals"] or "States.ALL" in retry["ErrorEquals"]:
            return retry.get("MaxAttempts", 3) > 0
    return False


@pytest.mark.parametrize("name", sorted(n for n, s in TASKS.items() if is_lambda(s)))
def test_domain_errors_are_not_retried_but_crashes_are(name):
    # Retrying would not change the answer to a domain error, only delay the compensation
    state = TASKS[name]
    for error in domain_errors():
        assert would_retry(state, error.__name__) == error.retried, error.__name__
    if not waits_for_a_token(state):
        assert would_retry(state, "Crash")  # an unnamed error: the function died, the step runs again


def test_the_tasks_waiting_for_an_operator_have_a_heartbeat_below_the_approval_timeout():
    # The approval of the prepared version, and the question of a hold whose analysis ended inconclusive
    callbacks = {n: s for n, s in TASKS.items() if waits_for_a_token(s)}
    assert sorted(callbacks) == sorted(["Wait for an operator's approval", "Ask an operator whether the new version goes on"])
    for state in callbacks.values():
        assert state["HeartbeatSecondsPath"] == "$.plan.approval_heartbeat_seconds"
        assert state["TimeoutSecondsPath"] == "$.plan.config.release.approval.timeout_seconds"


def test_prepare_steps_compensate_with_teardown_and_switch_steps_with_traffic_rollback():
    def catches(name: str) -> set[str]:
        return {c["Next"] for c in STATES[name].get("Catch", [])}

    for name in ("Create the target groups", "Attach them to the preparing rules", "Register the task definition",
                 "Create the ECS service and its autoscaling", "Check the new version's health",
                 "Wait for an operator's approval", "Re-check health before switching",
                 "Check alarms and read the live routes"):
        assert catches(name) == {TEARDOWN}, name
    for name in ("Shift traffic to the new version", "Watch alarms while traffic holds",
                 "Ask an operator whether the new version goes on", "Retire the old version"):
        assert catches(name) == {ROLLBACK}, name


def test_failures_after_the_switch_are_warnings_that_move_no_traffic():
    # Public traffic is on the new version only and the old one retired: each later step's failure
    # is kept under $.warnings and the release goes on to its success, never to a rollback
    for name in ("Clean up, then mark the old version obsolete", "Record the release",
                 "Notify that the release succeeded"):
        (catch,) = STATES[name]["Catch"]
        assert catch["ResultPath"].startswith("$.warnings."), name
        assert catch["Next"] == STATES[name]["Next"], name
    assert STATES["Start the release record"]["Parameters"]["warnings"] == {}


def test_a_rollback_moves_the_rules_only_after_the_old_version_is_healthy():
    # restore -> check -> (check again, past its function's time limit | move the rules | give up, rules untouched)
    restore = STATES[ROLLBACK]
    assert restore["Parameters"]["phase"] == "restore"
    check = STATES[restore["Next"]]
    assert check["Parameters"]["phase"] == "old_health"
    choice = STATES[check["Next"]]
    by_field = {c["Variable"]: c["Next"] for c in choice["Choices"]}
    move = STATES[by_field["$.results.old_health.healthy"]]
    assert move["Parameters"]["phase"] == "traffic"
    assert choice["Default"] == restore["Next"]
    give_up = STATES[by_field["$.results.old_health.timed_out"]]
    assert give_up["Type"] == "Pass" and give_up["ResultPath"] == "$.compensation_failure"
    # no other state moves public rules back
    movers = [n for n, s in TASKS.items() if s.get("Parameters", {}).get("phase") == "traffic"]
    assert movers == [by_field["$.results.old_health.healthy"]]


def test_compensation_steps_receive_the_failure_they_undo():
    # They write the execution's error and cause; without the failure they could not name it
    for name in (TEARDOWN, ROLLBACK):
        assert STATES[name]["Parameters"]["failure.$"] == "$.failure"


def test_every_end_after_the_lock_goes_through_an_unlock():
    # Walk every path from the lock onwards without passing an unlock: no end may be reachable
    seen, stack, ends = set(), list(successors(STATES[LOCK])), []
    while stack:
        name = stack.pop()
        if name in seen or name in UNLOCKS:
            continue
        seen.add(name)
        if STATES[name]["Type"] in ("Fail", "Succeed") or STATES[name].get("End"):
            ends.append(name)
        stack.extend(successors(STATES[name]))
    # The lock step's own failure ends without an unlock: it holds no lock then. A release whose undo
    # failed ends holding it, for the undo of releases that ended badly: its second attempt frees it
    # (the undo of stopped releases knows that end by its error)
    assert sorted(ends) == ["Another release holds the lock", "The release failed and could not be fully undone"]
    assert STATES["The release failed and could not be fully undone"]["Error"] == stopping.UNDO_FAILED


def test_the_steps_that_wait_in_their_invocation_keep_room_for_a_last_look_before_their_time_limit():
    from cutover_steps.config.rules import HTTP_CHECKS_BUDGET_SECONDS
    from cutover_steps.checks import target_health as health
    from cutover_steps.steps import watch_alarms as alarms

    # A watch stops sleeping while the hold checks' worst case (and the alarm call) still fits in its time
    assert HTTP_CHECKS_BUDGET_SECONDS < alarms.LOOK_MARGIN_SECONDS < BY_KEY["WatchAlarms"].timeout_seconds
    assert health.LOOK_MARGIN_SECONDS < BY_KEY["CheckHealth"].timeout_seconds


def test_the_config_rules_know_how_long_an_execution_may_run():
    from cutover_steps.config.rules import EXECUTION_TIMEOUT_SECONDS

    assert load()["TimeoutSeconds"] == EXECUTION_TIMEOUT_SECONDS
