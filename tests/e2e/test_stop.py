"""A release stopped by hand gets the same undo as a failure at that point, then its lock is freed;
the sandbox ends the approval wait as AWS does and refuses a late answer to its token."""
from __future__ import annotations

import contextlib
import io
import json
import threading
import time

import pytest
from botocore.exceptions import ClientError

from cutover import operations
from cutover.cli import main as cutover_main
from cutover.local import lambdas, snapshot
from tests.e2e.safety_fixtures import assert_torn_down, assert_v1_serves_as_before, config_with, lock_item, start
from tests.e2e.test_ownership import _wait_for_traffic_step


def _notifications(demo):
    """A queue subscribed to the release topic: what people would be told."""
    sqs = demo.client("sqs")
    url = sqs.create_queue(QueueName="release-notifications")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    demo.client("sns").subscribe(TopicArn=demo.engine.topic_arn, Protocol="sqs", Endpoint=arn,
                                 Attributes={"RawMessageDelivery": "true"})

    def read(subject_part: str, timeout: float = 120) -> str:
        deadline = time.time() + timeout
        while time.time() < deadline:
            for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                if subject_part in message["Body"]:
                    return message["Body"]
            time.sleep(0.2)
        raise AssertionError(f"no notification saying {subject_part!r}")

    return read


def _stopped(demo, arn: str) -> None:
    """Until the execution has ended ABORTED and the undo the stop set off has run."""
    assert operations.wait(demo.sfn, arn, 60)["status"] == "ABORTED"
    demo.engine.wait_for_status_changes()
    assert lock_item(demo) is None


def _cutover(demo, *args: str) -> dict:
    out = io.StringIO()
    cutover_main([*args, "--output", "json", "--state-machine-arn", demo.engine.state_machine_arn], out=out, err=io.StringIO())
    return json.loads(out.getvalue())


def _pending_token(demo, arn: str) -> str:
    assert operations.wait_for_state(demo.sfn, arn, operations.APPROVAL_STATE, 90)
    deadline, token = time.time() + 30, None
    while token is None and time.time() < deadline:
        token = operations.pending_task_token(demo.sfn, arn)
        time.sleep(0.2)
    assert token
    return token


@contextlib.contextmanager
def _stop_right_after(demo, step: str):
    """Stop the execution as soon as `step` has made its changes, before the state records its result:
    what happens when an operator stops a release while that step runs."""
    def stop(key, event, result):
        if key == step:
            demo.sfn.stop_execution(executionArn=event["release"]["execution_id"], error="Stopped", cause="by hand")

    lambdas.after_hooks.append(stop)
    try:
        yield
    finally:
        lambdas.after_hooks.remove(stop)


def test_stop_during_the_approval_wait_tears_down_the_prepared_version_and_refuses_a_late_answer(demo):
    notifications = _notifications(demo)
    before = snapshot.take(demo.client)
    # Given v2 prepared and waiting for an operator's approval
    arn = demo.start("2")
    token = _pending_token(demo, arn)
    # When someone stops it by hand
    demo.sfn.stop_execution(executionArn=arn, error="Stopped", cause="stopped from the console")
    # Then the execution ends ABORTED, as on AWS, instead of waiting on, and the lock is free
    _stopped(demo, arn)
    # an approval sent afterwards is refused the way Step Functions refuses it,
    with pytest.raises(ClientError) as refused:
        demo.sfn.send_task_success(taskToken=token, output=json.dumps({"decision": "approve"}))
    assert refused.value.response["Error"]["Code"] == "TaskTimedOut"
    # the prepared version is torn down as after a failure, and people are told what was undone
    told = notifications("was stopped by hand")
    assert "web 2 (demo) was stopped by hand. Undone:" in told and "public traffic was not moved" in told
    assert_torn_down(demo, "web-2")
    assert demo.forward(demo.preparing_rule) == {"demo-web-1": 1}
    # nothing of v1 or anything else changed
    outside = snapshot.changes_outside(before, snapshot.take(demo.client), [("demo", "web", "2")])
    assert outside == [], "\n".join(map(str, outside))
    # and cutover status and history say what the stop undid
    status = _cutover(demo, "status", "release-2")
    assert status["status"] == "ABORTED"
    assert status["undo"] == "the prepared version is torn down; public traffic was not moved"
    assert _cutover(demo, "history", "release-2")["undo"] == status["undo"]


def test_the_undo_of_a_stop_run_again_changes_nothing(demo):
    # Given a release stopped during the approval wait, and undone
    arn = demo.start("2")
    _pending_token(demo, arn)
    demo.sfn.stop_execution(executionArn=arn)
    _stopped(demo, arn)
    after_first = snapshot.take(demo.client)
    # When EventBridge delivers the status change again (it delivers at least once)
    again = demo.engine.deliver_status_change(arn)
    # Then the account is as the first undo left it, and the undo says it found everything done
    assert snapshot.take(demo.client) == after_first
    assert again["released"] == [] and again["fully_undone"]
    assert again["report"]["service"]["changed"] is None
    # And the same release started again succeeds
    assert demo.release("2", name="release-2-again")["status"] == "SUCCEEDED"


def test_stop_during_the_approval_wait_deletes_the_prepared_version_when_the_config_says_so(demo):
    before = snapshot.take(demo.client)
    config = config_with(demo, approval={"mode": "manual", "timeout_seconds": 300}, on_prepare_failure="delete")
    arn = start(demo, "2", config)
    _pending_token(demo, arn)
    demo.sfn.stop_execution(executionArn=arn)
    _stopped(demo, arn)
    # The new service and its target group are gone; v1 is untouched
    assert demo.service("web-2") is None
    assert "demo-web-2" not in demo.target_group_names()
    outside = snapshot.changes_outside(before, snapshot.take(demo.client), [("demo", "web", "2")])
    assert outside == [], "\n".join(map(str, outside))


def test_stop_while_traffic_is_split_puts_the_rules_back_and_restores_the_old_version(demo):
    notifications = _notifications(demo)
    before = snapshot.take(demo.client)
    # Given v2 holding at 50/50
    config = config_with(demo, traffic_steps=[{"percent": 50, "hold_seconds": 30}, {"percent": 100, "hold_seconds": 0}])
    arn = start(demo, "2", config)
    _wait_for_traffic_step(demo, arn, 50)
    # When someone stops it by hand during the hold
    demo.sfn.stop_execution(executionArn=arn)
    _stopped(demo, arn)
    # Then the public rule is back on v1 alone, v1 serves as before, v2 is torn down, the lock is free
    told = notifications("was stopped by hand")
    assert "public rules back on the old version (1 of 1)" in told
    assert_v1_serves_as_before(demo)
    assert_torn_down(demo, "web-2")
    outside = snapshot.changes_outside(before, snapshot.take(demo.client), [("demo", "web", "2")])
    assert outside == [], "\n".join(map(str, outside))


def test_stop_while_the_old_version_is_retired_brings_it_back_healthy_before_it_gets_traffic(demo):
    # Given v2 at 100 % and the old version scaled to zero by the retire step, when the stop lands
    # before the state could record it (the sampler of the demo fixture watches the public rule)
    notifications = _notifications(demo)
    with _stop_right_after(demo, "RetireOldVersion"):
        arn = demo.start("2", config=config_with(demo))
        _stopped(demo, arn)
    # Then v1 got its count and autoscaling back and serves alone again; v2 is torn down
    assert_v1_serves_as_before(demo)
    assert_torn_down(demo, "web-2")
    assert "old service restored and healthy" in notifications("was stopped by hand")


def test_stop_after_the_switch_moves_nothing_back_and_says_what_is_left(demo):
    notifications = _notifications(demo)
    # Given v2 serving all traffic and v1 retired, when the release is stopped during its cleanup
    with _stop_right_after(demo, "CleanUp"):
        arn = demo.start("2", config=config_with(demo))
        _stopped(demo, arn)
    # Then nothing moved back: v2 serves alone, v1 stays retired, and people are told what is left
    assert demo.forward(demo.public_rule) == {"demo-web-2": 1}
    assert demo.service("web-1")["desiredCount"] == 0 and demo.service("web-2")["desiredCount"] == 2
    told = notifications("was stopped by hand")
    assert "nothing moved back: the new version serves all traffic and the old one is retired" in told
    assert "the release record does not say yet which version serves" in told
    assert _cutover(demo, "status", "release-2")["undo"].startswith("nothing moved back")
    # And the next release finishes the work
    assert demo.release("3", config=config_with(demo))["status"] == "SUCCEEDED"
    assert demo.forward(demo.public_rule) == {"demo-web-3": 1}



def test_a_watch_that_outlives_its_stopped_execution_changes_nothing(demo):
    # Given v2 holding at 50/50, watched inside one invocation of the watch function
    watch_returned = threading.Event()
    lambdas.after_hooks.append(lambda key, event, result: key == "WatchAlarms" and watch_returned.set())
    config = config_with(demo, alarm_check_seconds=1,
                         traffic_steps=[{"percent": 50, "hold_seconds": 15}, {"percent": 100, "hold_seconds": 0}])
    arn = start(demo, "2", config)
    assert operations.wait_for_state(demo.sfn, arn, "Watch alarms while traffic holds", 60)
    # When it is stopped mid-hold and undone: StopExecution does not stop the running function
    demo.sfn.stop_execution(executionArn=arn)
    _stopped(demo, arn)
    assert not watch_returned.is_set()
    undone, history = snapshot.take(demo.client), operations.history(demo.sfn, arn)
    # Then the watch, looking on until its hold is over, changes nothing and its result goes nowhere
    assert watch_returned.wait(30)
    assert snapshot.take(demo.client) == undone
    # (moto notes the function's end in the history; no state records its result)
    later = [e["type"] for e in operations.history(demo.sfn, arn)[len(history):]]
    assert not [t for t in later if t.endswith(("StateExited", "StateEntered"))], later
    assert demo.sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"
    assert_v1_serves_as_before(demo)
