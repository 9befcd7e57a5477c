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

from cutover.operations import executions as operations
from cutover.cli import main as cutover_main
from cutover.local import lambdas, snapshot
from tests.cli.helpers import cutover
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


def _pending_token(demo, arn: str, state: str = operations.APPROVAL_STATE) -> str:
    assert operations.wait_for_state(demo.sfn, arn, state, 90)
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
    assert status["undo_run"]["state"] == "done" and "public traffic was not moved" in status["undo_run"]["did"]
    assert _cutover(demo, "history", "release-2")["undo"] == status["undo"]


def test_a_status_change_delivered_again_starts_no_second_undo(demo):
    # Given a release stopped during the approval wait, and undone
    arn = demo.start("2")
    _pending_token(demo, arn)
    demo.sfn.stop_execution(executionArn=arn)
    _stopped(demo, arn)
    after_first = snapshot.take(demo.client)
    # When EventBridge delivers the status change again (it delivers at least once)
    again = demo.engine.deliver_status_change(arn)
    demo.engine.wait_for_status_changes()
    # Then no second undo runs: its execution, named after the release's, exists already
    assert again["found"] == "undo started earlier; it has ended"
    assert [u["name"] for u in demo.engine.wait_for_undos()] == ["release-2"]
    assert snapshot.take(demo.client) == after_first
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


def test_stop_while_an_operator_is_asked_about_an_inconclusive_analysis_rolls_traffic_back_and_refuses_a_late_answer(demo):
    notifications = _notifications(demo)
    before = snapshot.take(demo.client)
    # Given v2 at 50/50, its hold over with the canary analysis inconclusive (a sample no hold reaches) and
    # inconclusive: ask, waiting for an operator's answer
    analysis = {"interval_seconds": 1, "min_requests": 100000, "inconclusive": "ask",
                "metrics": [{"name": "errors", "alb": "error_rate", "max_increase": 0.01}]}
    config = config_with(demo, alarm_check_seconds=1, analysis=analysis,
                         traffic_steps=[{"percent": 50, "hold_seconds": 2}, {"percent": 100, "hold_seconds": 0}])
    arn = start(demo, "2", config)
    token = _pending_token(demo, arn, operations.ANALYSIS_QUESTION_STATE)
    assert demo.forward(demo.public_rule) == {"demo-web-1": 500, "demo-web-2": 500}
    # When someone stops it by hand
    demo.sfn.stop_execution(executionArn=arn, error="Stopped", cause="stopped from the console")
    # Then the wait ends as on AWS, the answer that comes afterwards is refused,
    _stopped(demo, arn)
    with pytest.raises(ClientError) as refused:
        demo.sfn.send_task_success(taskToken=token, output=json.dumps({"decision": "approve"}))
    assert refused.value.response["Error"]["Code"] == "TaskTimedOut"
    # and it is undone as a stop during a hold is: the rules back, v1 as before, v2 torn down
    told = notifications("was stopped by hand")
    assert "public rules back on the old version (1 of 1)" in told
    assert_v1_serves_as_before(demo)
    assert_torn_down(demo, "web-2")
    outside = snapshot.changes_outside(before, snapshot.take(demo.client), [("demo", "web", "2")])
    assert outside == [], "\n".join(map(str, outside))
    assert _cutover(demo, "status", "release-2")["undo"].startswith("the old version gets its capacity and autoscaling back")


def test_stop_right_after_the_old_version_was_retired_keeps_traffic_on_the_new_version(demo):
    # Given v2 at 100 % and the old version scaled to zero by the retire step, when the stop lands
    # before the state could record it (the sampler of the demo fixture watches the public rule)
    notifications = _notifications(demo)
    with _stop_right_after(demo, "RetireOldVersion"):
        arn = demo.start("2", config=config_with(demo))
        _stopped(demo, arn)
    # Then the undo, reading the account, finds the new version serving alone and the old one
    # retired: nothing moves back (bringing v1 back would undo a finished switch for nothing)
    assert demo.forward(demo.public_rule) == {"demo-web-2": 1}
    assert demo.service("web-1")["desiredCount"] == 0 and demo.service("web-2")["desiredCount"] == 2
    assert "nothing moved back: the new version serves all traffic" in notifications("was stopped by hand")
    # And the next release finishes the work
    assert demo.release("3", config=config_with(demo))["status"] == "SUCCEEDED"
    assert demo.forward(demo.public_rule) == {"demo-web-3": 1}


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
    watch_started, watch_returned = threading.Event(), threading.Event()
    lambdas.before_hooks.append(lambda key, event: key == "WatchAlarms" and watch_started.set())
    lambdas.after_hooks.append(lambda key, event, result: key == "WatchAlarms" and watch_returned.set())
    config = config_with(demo, alarm_check_seconds=1,
                         traffic_steps=[{"percent": 50, "hold_seconds": 15}, {"percent": 100, "hold_seconds": 0}])
    arn = start(demo, "2", config)
    assert operations.wait_for_state(demo.sfn, arn, "Watch alarms while traffic holds", 60)
    # (the state is entered before its function is invoked: a stop in between would schedule no watch)
    assert watch_started.wait(30)
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


# -- A step that finishes after the stop, a status change twice, late or never -----------------------
@contextlib.contextmanager
def _stop_while_running(demo, step: str, slow_seconds: float = 2, time_limit: float = 5):
    """The step's function is slow (it sleeps before its change, `--slow STEP:SECONDS`) and the
    execution is stopped as soon as it starts: its change lands after the stop, as on AWS."""
    lambdas.delays[step] = slow_seconds
    lambdas.time_limits[step] = time_limit
    stopped = threading.Event()

    def stop(key, event):
        if key == step and not stopped.is_set():
            stopped.set()
            demo.sfn.stop_execution(executionArn=event["release"]["execution_id"], error="Stopped", cause="by hand")

    lambdas.before_hooks.append(stop)
    try:
        yield stopped
    finally:
        lambdas.before_hooks.remove(stop)


def test_stop_while_the_traffic_shift_runs_waits_for_it_then_puts_the_rules_back(demo):
    notifications = _notifications(demo)
    before = snapshot.take(demo.client)
    # Given a release stopped while its traffic shift is slow: its ModifyRule lands after the stop
    with _stop_while_running(demo, "ShiftTraffic") as stopped:
        arn = demo.start("2", config=config_with(demo))
        assert stopped.wait(120)
        _stopped(demo, arn)
    # Then the undo waited for it: the public rule is on v1 alone, which serves as before, and v2 is
    # at zero (the fixture's sampler saw no weight on a group without a healthy target meanwhile)
    assert_v1_serves_as_before(demo)
    assert_torn_down(demo, "web-2")
    assert "public rules back on the old version (1 of 1)" in notifications("was stopped by hand")
    outside = snapshot.changes_outside(before, snapshot.take(demo.client), [("demo", "web", "2")])
    assert outside == [], "\n".join(map(str, outside))
    # And the next release succeeds
    assert demo.release("3", config=config_with(demo))["status"] == "SUCCEEDED"


def test_stop_while_the_service_is_created_leaves_no_service_of_that_version_running(demo):
    # Given a release stopped while CreateService is slow: the service is created after the stop
    with _stop_while_running(demo, "CreateService") as stopped:
        arn = demo.start("2", config=config_with(demo))
        assert stopped.wait(120)
        _stopped(demo, arn)
    # Then the undo found the service the late step made and scaled it to zero, without autoscaling
    assert_torn_down(demo, "web-2")
    assert demo.forward(demo.public_rule) == {"demo-web-1": 1}
    assert demo.release("3", config=config_with(demo))["status"] == "SUCCEEDED"


def test_stop_while_the_old_version_is_retired_leaves_traffic_on_the_new_version(demo):
    # Given a release stopped while RetireOldVersion is slow: v1 is scaled to zero after the stop
    with _stop_while_running(demo, "RetireOldVersion") as stopped:
        arn = demo.start("2", config=config_with(demo))
        assert stopped.wait(120)
        _stopped(demo, arn)
    # Then traffic stays on v2, which serves; the rules never went back to a version being retired
    assert demo.forward(demo.public_rule) == {"demo-web-2": 1}
    assert demo.service("web-2")["desiredCount"] == 2
    assert demo.service("web-1")["desiredCount"] == 0
    assert demo.release("3", config=config_with(demo))["status"] == "SUCCEEDED"
    assert demo.forward(demo.public_rule) == {"demo-web-3": 1}


def _told(demo, queue_reader_timeout: float = 3) -> list[str]:
    """Every notification sent so far, read from a queue subscribed before the release."""
    sqs = demo.client("sqs")
    url = sqs.get_queue_url(QueueName="release-notifications")["QueueUrl"]
    bodies, quiet_until = [], time.time() + queue_reader_timeout
    while time.time() < quiet_until:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        time.sleep(0.2)
    return bodies


def test_a_status_change_delivered_twice_at_once_is_undone_once_and_told_once(demo):
    _notifications(demo)
    demo.engine.event_delivery = "twice"
    # Given a release stopped during its approval wait, whose status change comes twice at once
    arn = demo.start("2")
    _pending_token(demo, arn)
    demo.sfn.stop_execution(executionArn=arn)
    _stopped(demo, arn)
    # Then one undo ran, the prepared version is torn down, and people were told once
    assert [u["name"] for u in demo.engine.wait_for_undos()] == ["release-2"]
    assert_torn_down(demo, "web-2")
    told = [body for body in _told(demo) if "was stopped by hand" in body]
    assert len(told) == 1, told


def test_a_lost_status_change_is_undone_by_the_sweep_and_blocks_the_next_release_until_then(demo):
    demo.engine.event_delivery = "lost"
    # Given a release stopped during its approval wait, whose status change never comes
    arn = demo.start("2")
    _pending_token(demo, arn)
    demo.sfn.stop_execution(executionArn=arn)
    assert operations.wait(demo.sfn, arn, 60)["status"] == "ABORTED"
    demo.engine.wait_for_status_changes()
    assert demo.engine.lost_events == [arn]
    # Then nothing undid it yet: the lock is held, the prepared version runs, and status says so
    assert lock_item(demo) is not None and demo.service("web-2")["desiredCount"] == 2
    assert _cutover(demo, "status", "release-2")["undo_run"]["state"] == "not started"
    # When the stack's schedule sweeps
    swept = demo.engine.sweep()
    demo.engine.wait_for_status_changes()
    # Then the undo ran: v2 torn down, the lock free, and the next release succeeds
    assert [u["execution"] for u in swept["undos"]] == [arn]
    assert_torn_down(demo, "web-2")
    assert lock_item(demo) is None
    assert _cutover(demo, "status", "release-2")["undo_run"]["state"] == "done"
    assert demo.release("3", config=config_with(demo))["status"] == "SUCCEEDED"


def test_a_late_status_change_after_the_next_release_started_changes_nothing_of_it(demo):
    demo.engine.event_delivery = "late:4"
    # Given a release stopped during its approval wait, whose status change comes late
    arn = demo.start("2")
    _pending_token(demo, arn)
    demo.sfn.stop_execution(executionArn=arn)
    assert operations.wait(demo.sfn, arn, 60)["status"] == "ABORTED"
    # When the next release starts before it: it is refused while the undo is pending
    early = demo.release("3", config=config_with(demo), name="release-3-early")
    assert early["status"] == "FAILED"
    assert "ReleaseInProgress" in json.dumps(operations.history(demo.sfn, early["executionArn"]), default=str)
    # Then the late delivery undoes the stopped one, and the next release goes through after it
    demo.engine.wait_for_status_changes()
    assert_torn_down(demo, "web-2")
    assert lock_item(demo) is None
    assert demo.release("3", config=config_with(demo))["status"] == "SUCCEEDED"
    assert demo.forward(demo.public_rule) == {"demo-web-3": 1}


def test_an_undo_that_fails_for_good_says_so_in_status_and_tells_people(demo):
    notifications = _notifications(demo)

    def broken_undo(key, event):
        if key == "UndoStoppedRelease" and event.get("phase") == "decide":
            raise RuntimeError("ECS is unreachable from the undo")

    # Given a release stopped during its approval wait, whose undo fails every time it reads the account
    lambdas.before_hooks.append(broken_undo)
    try:
        arn = demo.start("2")
        _pending_token(demo, arn)
        demo.sfn.stop_execution(executionArn=arn)
        assert operations.wait(demo.sfn, arn, 60)["status"] == "ABORTED"
        demo.engine.wait_for_status_changes()
    finally:
        lambdas.before_hooks.remove(broken_undo)
    # Then its execution failed (the stack's alarm counts it), cutover status says so, people are told,
    # and the lock is free for a person or the next release to take over
    (undo,) = demo.engine.wait_for_undos()
    assert undo["status"] == "FAILED"
    assert _cutover(demo, "status", "release-2")["undo_run"]["state"] == "failed"
    told = notifications("Could not be fully undone")
    assert "was stopped by hand. Could not be fully undone: the undo failed: RuntimeError: ECS is unreachable" in told
    assert lock_item(demo) is None


def test_cutover_stop_records_who_and_why_and_every_view_and_the_notification_says_so(demo):
    notifications = _notifications(demo)
    identity = demo.client("sts").get_caller_identity()["Arn"]
    machine = ("--state-machine-arn", demo.engine.state_machine_arn)
    # Given v2 prepared and waiting for an operator's approval
    arn = demo.start("2")
    _pending_token(demo, arn)
    # A stop whose cause would pass StopExecution's 32,768 characters is refused, and stops nothing
    refused = cutover("stop", "release-2", "--reason", "5xx", "--by", "a" * 33000, *machine)
    assert refused.code == 2 and "at most 32768" in refused.err, refused.err
    assert demo.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"

    # When alice stops it from the command line, saying why
    stopped = _cutover(demo, "stop", "release-2", "--reason", "the canary answers 5xx", "--by", "alice")
    who = f"alice ({identity})"
    assert stopped["status"] == "ABORTED"
    assert stopped["stop"] == {"reason": "the canary answers 5xx", "by": who, "name": "alice", "identity": identity}
    assert stopped["undo"] == "the prepared version is torn down; public traffic was not moved"
    _stopped(demo, arn)

    # Then the history (the audit log) holds who and why in the stop's error and cause
    description = demo.sfn.describe_execution(executionArn=arn)
    assert description["error"] == "StoppedByOperator" and json.loads(description["cause"])["identity"] == identity
    # and people are told who stopped it, why, and what was undone
    told = notifications("was stopped by hand")
    assert f"web 2 (demo) was stopped by hand by {who}. Reason: the canary answers 5xx. Undone:" in told
    assert "public traffic was not moved" in told
    assert_torn_down(demo, "web-2")
    # and cutover status and history say the same, in JSON and in words
    status = _cutover(demo, "status", "release-2")
    assert status["stop"] == stopped["stop"]
    assert status["undo_run"]["state"] == "done" and "public traffic was not moved" in status["undo_run"]["did"]
    assert status["failure"]["cause"] == f"stopped by {who}: the canary answers 5xx"
    said = cutover("status", "release-2", *machine).out
    assert f"  stopped   by {who}: the canary answers 5xx" in said and "  undone    done:" in said
    history = _cutover(demo, "history", "release-2")
    assert history["stop"] == stopped["stop"] and history["undo_run"]["state"] == "done"
    said = cutover("history", "release-2", *machine).out
    assert f"stopped by {who}: the canary answers 5xx" in said and "undo done:" in said

    # A release that is not running any more cannot be stopped: exit 3, as for an approval nobody waits for
    again = cutover("stop", "release-2", "--reason", "again", *machine)
    assert again.code == 3 and "is not running (status ABORTED)" in again.err, again.err


def test_a_release_its_own_flow_undid_shows_no_pending_undo_in_status(demo):
    # Given a release rejected at its approval, which its own flow tore down
    arn = demo.start("2")
    _pending_token(demo, arn)
    operations.reject(demo.sfn, arn, by="alice", reason="not today")
    assert operations.wait(demo.sfn, arn, 60)["status"] == "FAILED"
    demo.engine.wait_for_status_changes()

    # Then status tells what its flow undid, and no undo of a stopped release is said to be pending
    status = _cutover(demo, "status", "release-2")
    assert status["undo_run"] is None
    assert "Undone: route www: preparing rule put back" in json.dumps(status["failure"])
    assert lock_item(demo) is None
