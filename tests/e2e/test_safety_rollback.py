"""Rollback after a finished release, through the same definition's steps."""
from __future__ import annotations

import json

from cutover.operations import executions as operations
from cutover.local import faults
from tests.cli.helpers import cutover
from tests.e2e.safety_fixtures import (
    assert_v1_serves_as_before, config_with, entered, finish, lock_item, start, tags, world,
)

ROLLBACK = {"action": "rollback", "env": "demo", "service": "web"}


def test_rollback_after_a_release_brings_the_retired_version_back(demo):
    # Given v2 released over v1: v1 retired to zero, its autoscaling parked
    assert finish(demo, start(demo, "2", config_with(demo)))["status"] == "SUCCEEDED"
    assert demo.service("web-1")["desiredCount"] == 0 and demo.parked("web-1")

    # When the service is rolled back
    arn = operations.start(demo.sfn, demo.engine.state_machine_arn, ROLLBACK, "rollback-web")
    result = finish(demo, arn)

    # Then v1 serves alone again, at its count, with its autoscaling and policy restored,
    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert_v1_serves_as_before(demo)
    # it is no longer marked obsolete (so the next release's cleanup keeps it),
    assert "cutover:obsolete-since" not in tags(demo, "web-1")
    # v2 is retired: zero, its scalable target parked, marked obsolete
    assert demo.service("web-2")["desiredCount"] == 0
    assert demo.parked("web-2")
    assert "cutover:obsolete-since" in tags(demo, "web-2")
    # it went through the same steps: health gate, traffic shift, retire; no approval wait
    states = entered(demo, arn)
    for state in ("Lock the service", "Check the new version's health", "Shift traffic to the new version",
                  "Retire the old version", "Release the lock"):
        assert state in states
    assert operations.APPROVAL_STATE not in states
    # and no second target group or service was made for v1
    assert sorted(demo.target_group_names()) == ["demo-web-1", "demo-web-2"]
    assert lock_item(demo) is None


def test_a_release_restarted_after_its_record_failed_can_still_be_rolled_back(demo):
    # Given a release of v2 whose record step is refused (AccessDenied) after v1 was retired:
    # it succeeds with a warning, and the record does not say yet what a rollback brings back
    with faults.deny("RecordRelease"):
        first = finish(demo, start(demo, "2", config_with(demo), name="release-2"))
    assert first["status"] == "SUCCEEDED", first.get("cause")
    assert [w["step"] for w in operations.unfinished_work(first)] == ["Record the release"]
    assert demo.service("web-1")["desiredCount"] == 0 and demo.parked("web-1")

    # When the operator starts the same release again
    again = finish(demo, start(demo, "2", config_with(demo), name="release-2-again"))

    # Then it converges: nothing left to retire, no warning, and the record names v1, at the count
    # and with the autoscaling the first attempt retired it from, as what a rollback brings back
    assert again["status"] == "SUCCEEDED", again.get("cause")
    assert operations.unfinished_work(again) == []
    output = json.loads(again["output"])
    assert output["results"]["retire"]["retired"] == []
    assert output["results"]["record"] == {"changed": "nothing -> 2", "previous": "1"}
    record = demo.client("dynamodb").get_item(TableName="cutover-releases", Key={"pk": {"S": "release#demo#web"}})["Item"]
    previous = record["previous"]["M"]
    assert (previous["version"]["S"], previous["desired_count"]["N"]) == ("1", "2")
    v1 = demo.client("dynamodb").get_item(TableName="cutover-releases", Key={"pk": {"S": "version#demo#web#1"}})["Item"]
    assert (v1["autoscaling"]["M"]["min"]["N"], v1["autoscaling"]["M"]["max"]["N"]) == ("2", "6")

    # When `cutover rollback` is run
    rollback = cutover("rollback", "--env", "demo", "--service", "web", "--name", "rollback-web", "--wait",
                       "--state-machine-arn", demo.engine.state_machine_arn)

    # Then v1 serves alone again, at its count, with its autoscaling and policy
    assert rollback.code == 0, rollback.out + rollback.err
    assert_v1_serves_as_before(demo)
    assert demo.service("web-2")["desiredCount"] == 0 and demo.parked("web-2")
    assert lock_item(demo) is None


def test_rollback_to_any_kept_version_brings_that_one_back(demo):
    # Given v2 then v3 released over v1, with two retired versions kept: v1 and v2 at zero
    config = config_with(demo, retired_versions_to_keep=2)
    for version in ("2", "3"):
        assert finish(demo, start(demo, version, config))["status"] == "SUCCEEDED"
    assert demo.service("web-1")["desiredCount"] == 0 and demo.service("web-2")["desiredCount"] == 0

    # When a version that is not the last one retired is asked for by name
    wrong = cutover("rollback", "--env", "demo", "--service", "web", "--to", "7", "--name", "rollback-to-7", "--wait",
                    "--state-machine-arn", demo.engine.state_machine_arn)
    # Then a version that is not kept is refused before any execution starts, naming the ones that are
    assert wrong.code == 3 and "keeps no version '7'" in wrong.err and "it keeps 1, 2" in wrong.err
    executions = demo.sfn.list_executions(stateMachineArn=demo.engine.state_machine_arn)["executions"]
    assert "rollback-to-7" not in [e["name"] for e in executions]

    # When v1 is asked for
    rollback = cutover("rollback", "--env", "demo", "--service", "web", "--to", "1", "--name", "rollback-to-1", "--wait",
                       "--state-machine-arn", demo.engine.state_machine_arn)

    # Then v1 serves alone again, at its count, with its autoscaling and policy; v3 is retired, v2 still kept
    assert rollback.code == 0, rollback.out + rollback.err
    assert_v1_serves_as_before(demo)
    assert demo.service("web-3")["desiredCount"] == 0 and demo.parked("web-3")
    assert demo.service("web-2") is not None
    assert lock_item(demo) is None
    # And the record keeps v3 and v2 for the next rollback, not v1, which serves
    record = demo.client("dynamodb").get_item(TableName="cutover-releases", Key={"pk": {"S": "release#demo#web"}})["Item"]
    assert sorted(record["kept"]["M"]) == ["2", "3"] and record["current"]["M"]["version"]["S"] == "1"


def test_rollback_with_nothing_retired_fails_before_any_change(demo):
    # Given v1 live and no release ever finished
    before = world(demo)

    # When a rollback is asked for
    arn = operations.start(demo.sfn, demo.engine.state_machine_arn, ROLLBACK, "rollback-nothing")
    result = finish(demo, arn)

    # Then it fails in the validation step, saying there is nothing to bring back, changing nothing
    assert result["status"] == "FAILED"
    assert result["error"] == "NothingToRollBack", result.get("cause")
    assert "no retired version to roll back to" in result["cause"]
    assert entered(demo, arn)[-1] == "The release input is invalid"
    assert world(demo) == before


def test_rollback_to_a_config_todays_rules_refuse_fails_naming_the_version_before_any_change(demo):
    # Given v2 released over v1, and v1's item keeping its config as an older Cutover wrote it,
    # with an alarm interval (1200 s) above today's 600 s cap
    assert finish(demo, start(demo, "2", config_with(demo)))["status"] == "SUCCEEDED"
    demo.client("dynamodb").update_item(
        TableName="cutover-releases", Key={"pk": {"S": "version#demo#web#1"}},
        UpdateExpression="SET config.#release.alarm_check_seconds = :seconds",
        ExpressionAttributeNames={"#release": "release"}, ExpressionAttributeValues={":seconds": {"N": "1200"}},
    )
    before = world(demo)

    # When the service is rolled back
    arn = operations.start(demo.sfn, demo.engine.state_machine_arn, ROLLBACK, "rollback-old-rules")
    result = finish(demo, arn)

    # Then it fails as bad input in the validation step, naming the version and the field, and
    # nothing changed: v2 still serves
    assert result["status"] == "FAILED"
    assert result["error"] == "InvalidReleaseInput", result.get("cause")
    assert "version '1'" in result["cause"] and "config.release.alarm_check_seconds" in result["cause"]
    assert entered(demo, arn)[-1] == "The release input is invalid"
    assert world(demo) == before


def test_retire_and_rollback_keep_every_kind_of_scaling_of_the_old_version(demo):
    # Given v1 has, beside its target-tracking policy, a step-scaling policy someone made by hand, a
    # scheduled action, and scale-in suspended
    aas = demo.client("application-autoscaling")
    target = {"ServiceNamespace": "ecs", "ResourceId": "service/demo/web-1", "ScalableDimension": "ecs:service:DesiredCount"}
    step = aas.put_scaling_policy(PolicyName="burst", PolicyType="StepScaling", **target, StepScalingPolicyConfiguration={
        "AdjustmentType": "ChangeInCapacity", "Cooldown": 60, "MetricAggregationType": "Average",
        "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 2}]})["PolicyARN"]
    aas.put_scheduled_action(ScheduledActionName="office-hours", Schedule="cron(0 8 ? * MON-FRI *)", **target,
                             ScalableTargetAction={"MinCapacity": 4, "MaxCapacity": 6})
    suspended = {"DynamicScalingInSuspended": True, "DynamicScalingOutSuspended": False, "ScheduledScalingSuspended": False}
    aas.register_scalable_target(**target, SuspendedState=suspended)

    def scaling() -> tuple:
        policies = aas.describe_scaling_policies(ServiceNamespace="ecs", ResourceId="service/demo/web-1")["ScalingPolicies"]
        actions = aas.describe_scheduled_actions(ServiceNamespace="ecs", ResourceId="service/demo/web-1")["ScheduledActions"]
        return (sorted((p["PolicyName"], p["PolicyType"], p["PolicyARN"]) for p in policies),
                [(a["ScheduledActionName"], a["Schedule"]) for a in actions])

    before = scaling()

    # When v2 is released over it (v1 retired), then the service is rolled back
    assert finish(demo, start(demo, "2", config_with(demo)))["status"] == "SUCCEEDED"
    assert demo.service("web-1")["desiredCount"] == 0 and demo.parked("web-1")
    assert scaling() == before  # nothing deleted while it is retired
    result = finish(demo, operations.start(demo.sfn, demo.engine.state_machine_arn, ROLLBACK, "rollback-web"))

    # Then v1 serves with its bounds and suspension as they were, and the very same policies (the
    # step-scaling one under its ARN, which its alarms name) and scheduled action
    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert demo.forward(demo.public_rule) == {"demo-web-1": 1} and demo.service("web-1")["desiredCount"] == 2
    back = demo.scalable_target("web-1")
    assert (back["MinCapacity"], back["MaxCapacity"], back["SuspendedState"]) == (2, 6, suspended)
    assert scaling() == before
    assert ("burst", "StepScaling", step) in scaling()[0]
    assert scaling()[1] == [("office-hours", "cron(0 8 ? * MON-FRI *)")]
