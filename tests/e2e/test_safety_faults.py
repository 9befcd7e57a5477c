"""Faults injected through the local engine: throttling, crashes, hand edits, repeated starts."""
from __future__ import annotations

import json

import pytest

from cutover.operations import executions as operations
from cutover.local import faults
from cutover_steps.adapters import clients as aws
from tests.e2e.safety_fixtures import (
    config_with, failed_lambda_errors, finish, lock_item, start,
)

# Every step that changes something in AWS.
MUTATING_STEPS = (
    "LockService", "CreateTargetGroups", "AttachPreparingRules", "RegisterTaskDefinition", "CreateService",
    "ShiftTraffic", "RetireOldVersion", "CleanUp", "RecordRelease", "UnlockService",
)


def assert_exactly_one_v2(demo) -> None:
    """v2 serves alone, made once: one target group, one service, one task definition revision."""
    assert demo.forward(demo.public_rule) == {"demo-web-2": 1}
    assert sorted(demo.target_group_names()) == ["demo-web-1", "demo-web-2"]
    ecs = demo.client("ecs")
    services = ecs.describe_services(cluster="demo", services=ecs.list_services(cluster="demo")["serviceArns"], include=["TAGS"])["services"]
    assert sorted(s["serviceName"] for s in services) == ["web-1", "web-2"]
    assert len(ecs.list_task_definitions(familyPrefix="web")["taskDefinitionArns"]) == 2  # v1's and v2's
    assert demo.service("web-2")["desiredCount"] == 2
    assert demo.service("web-1")["desiredCount"] == 0
    assert lock_item(demo) is None


def test_throttling_on_every_mutating_call_is_retried_and_the_release_succeeds(demo):
    # Given AWS throttles every mutating call of the release once before it goes through
    with faults.throttle(per_call=1) as throttled:
        # When v2 is released
        result = finish(demo, start(demo, "2", config_with(demo)))

    # Then the SDK's retries absorbed it: the release succeeded with no duplicates
    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert {"elbv2.CreateTargetGroup", "elbv2.ModifyRule", "ecs.RegisterTaskDefinition", "ecs.CreateService",
            "ecs.UpdateService", "application-autoscaling.RegisterScalableTarget",
            "dynamodb.PutItem",
            "dynamodb.DeleteItem"} <= set(throttled.throttled)
    assert_exactly_one_v2(demo)


def test_throttling_beyond_the_sdk_retries_is_retried_by_the_state_machine(demo):
    # Given AWS throttles the target group creation more times in a row than the SDK attempts it
    # (six); the SDK's back-off is shortened so the test does not sit through its waits
    attempts = aws.client("elbv2").meta.config.retries["total_max_attempts"]
    with faults.throttle(per_call=attempts, total=attempts, operations={"elbv2": ["CreateTargetGroup"]},
                         sdk_backoff_scale=0.01) as throttled:
        # When v2 is released
        arn = start(demo, "2", config_with(demo))
        result = finish(demo, arn)

    # Then that step failed once with AwsThrottled, the state's Retry ran it again, and it succeeded
    assert throttled.throttled == {"elbv2.CreateTargetGroup": attempts}
    assert failed_lambda_errors(demo, arn) == ["AwsThrottled"]
    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert_exactly_one_v2(demo)


def test_a_crash_right_after_each_change_is_retried_without_duplicates(demo):
    # Given every mutating step dies once right after its AWS change, before reporting
    with faults.crash_after(MUTATING_STEPS) as crashed:
        # When v2 is released
        arn = start(demo, "2", config_with(demo))
        result = finish(demo, arn)

    # Then each crashed step was retried and converged: one of everything, and the release succeeded
    assert set(crashed) == set(MUTATING_STEPS)
    assert failed_lambda_errors(demo, arn).count("Crash") >= len(MUTATING_STEPS)
    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert_exactly_one_v2(demo)
    # the retired version's autoscaling was remembered despite the crash, so a rollback can restore it
    record = demo.client("dynamodb").get_item(TableName="cutover-releases", Key={"pk": {"S": "release#demo#web"}})["Item"]
    assert record["previous"]["M"]["version"]["S"] == "1"
    v1 = demo.client("dynamodb").get_item(TableName="cutover-releases", Key={"pk": {"S": "version#demo#web#1"}})["Item"]
    assert v1["autoscaling"]["M"]["max"]["N"] == "6"


def test_a_public_rule_edited_by_hand_mid_release_is_not_overwritten(demo):
    # Given v2 holding at 50 % of the traffic
    config = config_with(demo, traffic_steps=[{"percent": 50, "hold_seconds": 6}, {"percent": 100, "hold_seconds": 0}])
    arn = start(demo, "2", config)
    assert operations.wait_for_state(demo.sfn, arn, "Watch alarms while traffic holds", 60)

    # When someone turns v2 down to 10 % by hand during the hold
    elbv2 = demo.client("elbv2")
    groups = {g["TargetGroupName"]: g["TargetGroupArn"] for g in elbv2.describe_target_groups()["TargetGroups"]}
    elbv2.modify_rule(RuleArn=demo.public_rule, Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": groups["demo-web-1"], "Weight": 90}, {"TargetGroupArn": groups["demo-web-2"], "Weight": 10}]}}])
    result = finish(demo, arn)

    # Then the release failed closed with RuleDrifted, and the hand edit stands
    assert result["status"] == "FAILED"
    assert result["error"] == "RuleDrifted", result.get("cause")
    assert "changed outside this release" in result["cause"]
    assert "left alone, changed by someone else: www" in result["cause"]
    assert demo.forward(demo.public_rule) == {"demo-web-1": 90, "demo-web-2": 10}
    # v1 was never retired; v2 still gets traffic from the edited rule, so it is kept running
    assert demo.service("web-1")["desiredCount"] == 2 and demo.scalable_target("web-1") is not None
    assert demo.service("web-2")["desiredCount"] == 2
    assert lock_item(demo) is None


def test_the_same_execution_name_started_twice_is_one_release(demo):
    # Given a release started under a CI job's execution name
    sfn, machine = demo.sfn, demo.engine.state_machine_arn
    start_input = json.dumps({"env": "demo", "version": "2", "image": "registry.local/web:2", "config": config_with(demo)})
    first = sfn.start_execution(stateMachineArn=machine, name="ci-run-42", input=start_input)["executionArn"]

    # When the CI job is retried while it runs, with the same input
    again = sfn.start_execution(stateMachineArn=machine, name="ci-run-42", input=start_input)["executionArn"]

    # Then it is the same execution; with another input, the name is refused
    assert again == first
    other = json.dumps({**json.loads(start_input), "version": "3"})
    with pytest.raises(sfn.exceptions.ExecutionAlreadyExists):
        sfn.start_execution(stateMachineArn=machine, name="ci-run-42", input=other)
    assert finish(demo, first)["status"] == "SUCCEEDED"
    # once it has ended, even the same input does not start a second release
    with pytest.raises(sfn.exceptions.ExecutionAlreadyExists):
        sfn.start_execution(stateMachineArn=machine, name="ci-run-42", input=start_input)
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 1
    assert_exactly_one_v2(demo)


def test_a_rehearsed_throttle_hits_only_the_named_step_and_the_release_says_so(demo):
    # Given a rehearsal in which every AWS call of the release record is throttled, every time
    with faults.rehearsal(["RecordRelease:throttle"]) as failures:
        # When v2 is released
        arn = start(demo, "2", config_with(demo))
        result = finish(demo, arn, timeout=240)

    # Then only that step's calls were refused: it failed with AwsThrottled after the state
    # machine's retries, which (after the switch) is a warning, and v2 serves
    assert failures == [("RecordRelease", "throttle")]
    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert set(failed_lambda_errors(demo, arn)) == {"AwsThrottled"}
    assert failed_lambda_errors(demo, arn).count("AwsThrottled") == 6  # the first try and 5 retries
    assert [(w["step"], w["error"]) for w in operations.unfinished_work(result)] == [("Record the release", "AwsThrottled")]
    assert demo.forward(demo.public_rule) == {"demo-web-2": 1}
    assert lock_item(demo) is None
