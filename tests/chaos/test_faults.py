"""The faults the matrix injects look to the release exactly as AWS and Lambda would make them."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from cutover.operations import executions as operations
from cutover.local import faults, lambdas
from cutover_steps.adapters import clients as aws
from tests.e2e.safety_fixtures import config_with, failed_lambda_errors, finish, start

CALLS = {
    "elbv2": lambda c: c.describe_target_groups(),
    "ecs": lambda c: c.list_clusters(),
    "application-autoscaling": lambda c: c.describe_scalable_targets(ServiceNamespace="ecs"),
    "dynamodb": lambda c: c.list_tables(),
    "sns": lambda c: c.list_topics(),
    "cloudwatch": lambda c: c.describe_alarms(),
    "stepfunctions": lambda c: c.list_state_machines(),
}


def test_access_denied_comes_in_each_services_own_error_shape(engine):
    # Given every call of the unlock step is denied
    seen: dict[str, tuple[str, int, str]] = {}

    def calls_from_inside_the_step(key, event):
        for name, call in CALLS.items():
            try:
                call(aws.client(name))
            except ClientError as error:
                seen[name] = (error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"],
                              error.response["Error"]["Message"])

    # When the step's calls go out (through the SDK, as the handler's would)
    with faults.deny(faults.Target("UnlockService"), clients=CALLS) as denied:
        lambdas.before_hooks.append(calls_from_inside_the_step)
        try:
            lambdas.run_step("UnlockService", {"release": {"execution_id": "x"}})
        finally:
            lambdas.before_hooks.remove(calls_from_inside_the_step)

    # Then each service answered with its own code, as its API reference gives it
    codes = {name: code for name, (code, _, _) in seen.items()}
    assert codes == {"elbv2": "AccessDenied", "ecs": "AccessDeniedException", "application-autoscaling": "AccessDeniedException",
                     "dynamodb": "AccessDeniedException", "sns": "AuthorizationError", "cloudwatch": "AccessDenied",
                     "stepfunctions": "AccessDeniedException"}
    assert seen["sns"][1] == 403 and seen["ecs"][1] == 400
    assert "cutover-UnlockService is not authorized to perform: ecs:ListClusters" in seen["ecs"][2]
    assert denied["elbv2.DescribeTargetGroups"] == 1
    # and calls made outside the step are not touched
    assert aws.client("ecs").list_clusters()["clusterArns"] == []


@pytest.mark.e2e
def test_a_lambda_timeout_is_reported_as_sandbox_timedout_and_retried(demo):
    # Given the lock step runs past its Lambda timeout once, after taking the lock
    with faults.time_out(["LockService"]) as timed_out:
        arn = start(demo, "2", config_with(demo))
        result = finish(demo, arn)

    # Then Step Functions saw Lambda's own error name, retried, and the release succeeded
    assert timed_out == {"LockService": 1}
    assert failed_lambda_errors(demo, arn) == ["Sandbox.Timedout"]
    cause = next(e["lambdaFunctionFailedEventDetails"]["cause"] for e in operations.history(demo.sfn, arn)
                 if e["type"] == "LambdaFunctionFailed")
    assert "Task timed out after 60.00 seconds" in cause
    assert result["status"] == "SUCCEEDED", result.get("cause")


@pytest.mark.e2e
def test_a_fault_aimed_at_one_state_spares_the_other_states_of_the_same_step(demo):
    # Given the health check crashes before its work, only in the re-check before switching
    with faults.crash_before([faults.Target("CheckHealth", "Re-check health before switching")]) as crashed:
        arn = start(demo, "2", config_with(demo))
        result = finish(demo, arn)

    # Then it crashed once, there, and the first health check was left alone
    assert crashed == {"CheckHealth": 1}
    failures = [e for e in operations.history(demo.sfn, arn) if e["type"] == "LambdaFunctionFailed"]
    assert len(failures) == 1
    entered = [e["stateEnteredEventDetails"]["name"] for e in operations.history(demo.sfn, arn)
               if e["type"].endswith("StateEntered") and e["id"] < failures[0]["id"]]
    assert entered[-1] == "Re-check health before switching"
    assert result["status"] == "SUCCEEDED", result.get("cause")
