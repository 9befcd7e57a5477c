"""Who approved: the name given and the AWS identity of the caller, through the real definition,
in the history, `cutover status` and both notifications."""
from __future__ import annotations

import copy
import json
import time

from cutover.operations import executions as operations
from tests.cli.helpers import cutover
from tests.e2e.safety_fixtures import finish, notifications, start, subscribe_queue

ALARM = "web-5xx"


def answer_as(demo, name: str, *by: str) -> None:
    """Approve from the command line, as the person `by` names, once the release asks."""
    arn = operations.execution_arn(demo.engine.state_machine_arn, name)
    assert operations.wait_for_state(demo.sfn, arn, operations.APPROVAL_STATE, 90)
    approved = cutover("approve", name, *by, "--wait-seconds", "60", "--state-machine-arn", demo.engine.state_machine_arn)
    assert approved.code == 0, approved.out + approved.err


def sent(demo, queue: str, event: str) -> list[str]:
    """The messages of one kind of notification (its `event` attribute) the queue received so far."""
    deadline, found = time.time() + 30, []
    while not found and time.time() < deadline:
        time.sleep(0.2)
        found = [n["Message"] for n in notifications(demo, queue) if n["MessageAttributes"]["event"]["Value"] == event]
    return found


def test_an_approved_release_names_the_approver_and_their_aws_identity_everywhere(demo):
    # Given someone subscribed to the notifications, and the caller's AWS identity
    queue = subscribe_queue(demo)
    identity = demo.client("sts").get_caller_identity()["Arn"]

    # When v2 is released and alice approves it from the command line
    arn = start(demo, "2", copy.deepcopy(demo.config), name="release-2")
    answer_as(demo, "release-2", "--by", "alice", "--comment", "checked /health")
    assert finish(demo, arn)["status"] == "SUCCEEDED"

    # Then the history records her name and her AWS identity, apart and together
    history = json.loads(cutover("history", "release-2", "--output", "json",
                                 "--state-machine-arn", demo.engine.state_machine_arn).out)
    (answer,) = [s["result"] for s in history["states"] if s["state"] == operations.APPROVAL_STATE]
    assert (answer["name"], answer["identity"], answer["by"]) == ("alice", identity, f"alice ({identity})")
    # and so does cutover status, in JSON and in words
    status = json.loads(cutover("status", "release-2", "--output", "json", "--state-machine-arn", demo.engine.state_machine_arn).out)
    assert (status["approval"]["decision"], status["approval"]["name"], status["approval"]["identity"]) == ("approve", "alice", identity)
    said = cutover("status", "release-2", "--state-machine-arn", demo.engine.state_machine_arn).out
    assert f"  approval  approved by alice ({identity}): checked /health" in said
    # and the success notification
    (success,) = sent(demo, queue, "succeeded")
    assert f"Approved by: alice ({identity})." in success


def test_a_release_that_fails_after_its_approval_names_the_approver_in_the_failure_notification(demo):
    # Given a watched alarm that fires after the approval, before the switch
    queue = subscribe_queue(demo)
    identity = demo.client("sts").get_caller_identity()["Arn"]
    demo.client("cloudwatch").put_metric_alarm(
        AlarmName=ALARM, Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_5XX_Count",
        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=5, ComparisonOperator="GreaterThanOrEqualToThreshold")
    config = copy.deepcopy(demo.config)
    config["release"]["alarm_names"] = [ALARM]
    arn = start(demo, "2", config, name="release-2")
    assert operations.wait_for_state(demo.sfn, arn, operations.APPROVAL_STATE, 90)
    demo.client("cloudwatch").set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="5xx")

    # When bob approves it
    answer_as(demo, "release-2", "--by", "bob")

    # Then the release fails on the alarm, and the failure notification says bob approved it
    result = finish(demo, arn)
    assert (result["status"], result["error"]) == ("FAILED", "AlarmFired"), result.get("cause")
    (failure,) = sent(demo, queue, "failed")
    assert "web 2 (demo) failed: AlarmFired" in failure
    assert f"Approved by: bob ({identity})." in failure


def test_an_approval_that_names_nobody_goes_through_and_the_notification_says_so(demo):
    # Given a release waiting for approval
    queue = subscribe_queue(demo)
    arn = start(demo, "2", copy.deepcopy(demo.config), name="release-2")
    assert operations.wait_for_state(demo.sfn, arn, operations.APPROVAL_STATE, 90)

    # When it is approved with an answer that names nobody, as one sent from the console may be
    deadline, token = time.time() + 60, None
    while token is None and time.time() < deadline:
        time.sleep(0.2)
        token = operations.pending_task_token(demo.sfn, arn)
    demo.sfn.send_task_success(taskToken=token, output=json.dumps({"decision": "approve"}))

    # Then the release goes through, and the success notification says the answer named nobody
    assert finish(demo, arn)["status"] == "SUCCEEDED"
    (success,) = sent(demo, queue, "succeeded")
    assert "Approved by: an answer that names nobody" in success
