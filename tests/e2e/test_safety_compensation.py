"""Compensation through the real definition: a failed release leaves production as it found it."""
from __future__ import annotations

import time

from cutover.operations import executions as operations
from cutover.local import faults, lambdas
from tests.e2e.safety_fixtures import (
    assert_torn_down, assert_v1_serves_as_before, config_with, entered, finish, lock_item, notifications, start,
    subscribe_queue, tags, world,
)


def test_health_never_reached_times_out_and_tears_the_new_version_down(demo):
    # Given v2's tasks never become healthy (a crashing image) and a short health timeout
    demo.engine.data_plane.failing.add("web-2")
    config = config_with(demo, health_timeout_seconds=3, poll_interval_seconds=1)

    # When v2 is released
    result = finish(demo, start(demo, "2", config))

    # Then the release failed with HealthTimeout and says what it undid,
    assert result["status"] == "FAILED"
    assert result["error"] == "HealthTimeout", result.get("cause")
    assert "demo-web-2 0/2 healthy" in result["cause"]
    assert "Undone:" in result["cause"] and "Public traffic was not moved" in result["cause"]
    # the public rule was never touched and the preparing rule is back on v1,
    assert_v1_serves_as_before(demo)
    assert demo.forward(demo.preparing_rule) == {"demo-web-1": 1}
    # v2 is scaled to zero, its autoscaling parked, marked obsolete for the next release's cleanup,
    assert_torn_down(demo, "web-2")
    # and the lock is released
    assert lock_item(demo) is None


def test_rejected_approval_tears_the_new_version_down(demo):
    # Given v2 prepared and waiting for approval
    arn = demo.start("2")
    assert operations.wait_for_state(demo.sfn, arn, operations.APPROVAL_STATE, 60)
    assert demo.forward(demo.preparing_rule) == {"demo-web-2": 1}

    # When the operator rejects it
    operations.reject(demo.sfn, arn, reason="checkout button is broken", by="alice", wait_seconds=30)
    result = finish(demo, arn)

    # Then the release failed, naming who rejected it and why, and what was undone
    assert result["status"] == "FAILED"
    assert result["error"] == "ApprovalRejected", result.get("cause")
    assert result["cause"].startswith("Rejected by alice: checkout button is broken | Undone:")
    assert_v1_serves_as_before(demo)
    assert demo.forward(demo.preparing_rule) == {"demo-web-1": 1}
    assert_torn_down(demo, "web-2")
    assert lock_item(demo) is None


def test_an_answer_without_name_or_reason_is_a_rejection_not_a_runtime_error(demo):
    # Given v2 waiting for approval
    arn = demo.start("2")
    assert operations.wait_for_state(demo.sfn, arn, operations.APPROVAL_STATE, 60)

    # When the answer comes from the console as bare as it may: a decision, nobody named, no reason
    token, deadline = None, time.time() + 30
    while token is None and time.time() < deadline:
        token = operations.pending_task_token(demo.sfn, arn) or time.sleep(0.2)
    demo.sfn.send_task_success(taskToken=token, output='{"decision": "reject"}')
    result = finish(demo, arn)

    # Then the release was rejected through its own flow: torn down, unlocked, the cause says so
    assert result["status"] == "FAILED"
    assert result["error"] == "ApprovalRejected", result.get("cause")
    assert result["cause"].startswith("Rejected by someone who did not give a name: no reason given | Undone:")
    assert_torn_down(demo, "web-2")
    assert lock_item(demo) is None


def test_approval_nobody_answers_times_out_and_tears_down(demo):
    # Given an approval window of a few seconds that nobody answers
    config = config_with(demo, approval={"mode": "manual", "timeout_seconds": 3, "heartbeat_seconds": 2})

    # When v2 is released
    result = finish(demo, start(demo, "2", config))

    # Then the release failed because nobody decided, and v2 was torn down
    assert result["status"] == "FAILED"
    assert result["error"] == "ApprovalTimedOut", result.get("cause")
    assert "nobody approved or rejected 2 in time" in result["cause"]
    assert_v1_serves_as_before(demo)
    assert demo.forward(demo.preparing_rule) == {"demo-web-1": 1}
    assert_torn_down(demo, "web-2")
    assert lock_item(demo) is None


class TagPolicyViolation(Exception):
    """Stands for any AWS refusal that retrying does not cure."""


def test_a_failure_after_the_switch_moves_no_traffic_and_the_release_succeeds_with_a_warning(demo):
    # Given a step after the switch that always fails: cleaning up and marking v1 obsolete, once v1 is retired
    queue = subscribe_queue(demo)
    with faults.refuse("CleanUp", TagPolicyViolation("tagging web-1 is denied by a tag policy")):
        # When v2 is released
        result = finish(demo, start(demo, "2", config_with(demo)))

    # Then the release succeeded: v2 keeps all public traffic, v1 stays retired (no rollback to an
    # empty version), and the output lists the unfinished work
    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert demo.forward(demo.public_rule) == {"demo-web-2": 1}
    assert demo.service("web-1")["desiredCount"] == 0 and demo.service("web-2")["desiredCount"] == 2
    assert "cutover:obsolete-since" not in tags(demo, "web-1")
    assert [(w["step"], w["error"], w["message"]) for w in operations.unfinished_work(result)] == [
        ("Clean up, then mark the old version obsolete", "TagPolicyViolation", "tagging web-1 is denied by a tag policy")]
    # and so does the notification people get
    (sent,) = notifications(demo, queue)
    assert sent["Subject"] == "Cutover: release succeeded with warnings"
    assert sent["MessageAttributes"]["event"]["Value"] == "succeeded"
    assert "web 2 (demo) now serves all traffic" in sent["Message"]
    assert "- Clean up, then mark the old version obsolete failed (TagPolicyViolation: tagging web-1 is denied by a tag policy); " \
           "versions marked obsolete earlier may not all be deleted, nor the version retired now marked obsolete" \
           in sent["Message"]
    # the steps after it still ran: the record says v2 serves, the lock is free
    record = demo.client("dynamodb").get_item(TableName="cutover-releases", Key={"pk": {"S": "release#demo#web"}})["Item"]
    assert record["current"]["M"]["version"]["S"] == "2"
    assert lock_item(demo) is None

    # When the next release runs with nothing failing
    assert finish(demo, start(demo, "3", config_with(demo)))["status"] == "SUCCEEDED"

    # Then it finished the work: v1, retired by the release before, is marked obsolete too
    assert "cutover:obsolete-since" in tags(demo, "web-1")
    assert "cutover:obsolete-since" in tags(demo, "web-2")


def test_every_failure_after_the_switch_is_a_warning(demo):
    # Given cleanup and marking, the record and the notification all fail
    with faults.refuse("CleanUp", TagPolicyViolation("cleanup denied")), \
            faults.refuse("RecordRelease", TagPolicyViolation("table denied")), \
            faults.refuse("NotifySucceeded", TagPolicyViolation("topic denied")):
        # When v2 is released
        result = finish(demo, start(demo, "2", config_with(demo)))

    # Then it still succeeded, with v2 serving alone, and says each piece of work that is left
    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert demo.forward(demo.public_rule) == {"demo-web-2": 1}
    assert [w["step"] for w in operations.unfinished_work(result)] == [
        "Clean up, then mark the old version obsolete", "Record the release",
        "Notify that the release succeeded"]
    assert lock_item(demo) is None


def test_a_failed_retirement_rolls_back_only_once_the_old_version_is_healthy_again(demo):
    # Given the retirement of v1 dies every time right after scaling v1 to zero
    with faults.crash_after(["RetireOldVersion"], times=10) as crashed:
        # When v2 is released
        arn = start(demo, "2", config_with(demo))
        result = finish(demo, arn)

    # Then v1 got its count and autoscaling back, the rules waited for it to be healthy (the demo
    # fixture samples the public rule throughout), and v1 serves again
    assert crashed["RetireOldVersion"] >= 2
    assert result["status"] == "FAILED"
    assert result["error"] == "Crash", result.get("cause")
    assert "Rolled back: public rules back on the old version (1 of 1); old service restored and healthy" in result["cause"]
    states = entered(demo, arn)
    assert states.index("Check the old version's health") < states.index("Roll traffic back to the old version")
    assert_v1_serves_as_before(demo)
    assert_torn_down(demo, "web-2")
    assert demo.forward(demo.preparing_rule) == {"demo-web-1": 1}
    assert lock_item(demo) is None


def test_an_old_version_that_never_gets_healthy_keeps_the_rules_where_they_are(demo):
    # Given v1, once retired, can no longer start (its image is gone), and retiring dies after its change
    config = config_with(demo, health_timeout_seconds=3, poll_interval_seconds=1)

    def image_gone(key, event, result):
        if key == "RetireOldVersion":
            demo.engine.data_plane.failing.add("web-1")

    lambdas.after_hooks.append(image_gone)
    try:
        with faults.crash_after(["RetireOldVersion"], times=10):
            # When v2 is released
            arn = start(demo, "2", config)
            result = finish(demo, arn)
    finally:
        lambdas.after_hooks.remove(image_gone)

    # Then the release failed saying the old version did not get healthy, and public traffic
    # stayed on v2, which keeps running; nobody was sent to the empty v1
    assert result["status"] == "FAILED"
    assert result["error"] == "UndoFailed", result.get("cause")
    assert "Not rolled back: the old version was not healthy after" in result["cause"]
    assert "demo-web-1 0/2 healthy" in result["cause"]
    assert demo.forward(demo.public_rule) == {"demo-web-2": 1}
    assert demo.service("web-2")["desiredCount"] == 2
    assert "Roll traffic back to the old version" not in entered(demo, arn)
    assert lock_item(demo) is None


def test_delete_on_prepare_failure_removes_the_new_version(demo):
    # Given a config that deletes, rather than keeps, a version whose preparation failed
    demo.engine.data_plane.failing.add("web-2")
    config = config_with(demo, health_timeout_seconds=2, on_prepare_failure="delete")
    before = world(demo)

    # When v2 never gets healthy
    result = finish(demo, start(demo, "2", config))

    # Then its service and target group are gone, and v1 serves as before
    assert result["error"] == "HealthTimeout", result.get("cause")
    assert "service: deleted; target groups deleted: demo-web-2" in result["cause"]
    assert demo.service("web-2") is None
    assert "demo-web-2" not in demo.target_group_names()
    after = world(demo)
    assert after["public_rule"] == before["public_rule"]
    assert after["preparing_rule"] == before["preparing_rule"]
    assert_v1_serves_as_before(demo)
    assert lock_item(demo) is None


def test_the_undo_itself_is_retried_after_a_crash_and_converges(demo):
    # Given v2 never gets healthy, and the teardown dies once right after undoing
    demo.engine.data_plane.failing.add("web-2")
    config = config_with(demo, health_timeout_seconds=2)
    with faults.crash_after(["TearDownPrepared"]) as crashed:
        # When v2 is released
        result = finish(demo, start(demo, "2", config))

    # Then the retried teardown found the work done and said so; the release failed, not the undo
    assert crashed == {"TearDownPrepared": 1}
    assert result["error"] == "HealthTimeout", result.get("cause")
    assert "Undone: route www: preparing rule already off the new version; service: already at zero" in result["cause"]
    assert "new version already marked obsolete" in result["cause"]
    assert_v1_serves_as_before(demo)
    assert_torn_down(demo, "web-2")
    assert lock_item(demo) is None


def test_the_traffic_rollback_is_retried_after_a_crash_and_converges(demo):
    # Given the retirement of v1 always fails, and each rollback step dies once after its work
    with faults.refuse("RetireOldVersion", TagPolicyViolation("scaling web-1 is denied by a policy")), \
            faults.crash_after(["RollBackTraffic"]) as crashed:
        # When v2 is released
        result = finish(demo, start(demo, "2", config_with(demo)))

    # Then the rollback ran again without harm: v1 serves with its count and autoscaling, once
    assert crashed == {"RollBackTraffic": 1}
    assert result["error"] == "TagPolicyViolation", result.get("cause")
    assert_v1_serves_as_before(demo)
    assert_torn_down(demo, "web-2")
    assert lock_item(demo) is None


def test_an_undo_that_fails_in_the_flow_gets_a_second_attempt_that_finishes_it(demo):
    # Given retiring v1 always fails, and the flow's own traffic rollback is refused every time
    queue = subscribe_queue(demo)
    rollback = faults.Target("RollBackTraffic", "Roll traffic back to the old version")
    with faults.refuse("RetireOldVersion", TagPolicyViolation("scaling web-1 is denied by a policy")), \
            faults.refuse(rollback, TagPolicyViolation("modifying the public rule is denied")):
        # When v2 is released
        arn = start(demo, "2", config_with(demo))
        result = operations.wait(demo.sfn, arn, 120)
        # Then the flow could not undo it, and ended still holding the lock for the second attempt
        assert result["error"] == "UndoFailed", result.get("cause")
        assert "modifying the public rule is denied" in result["cause"]
        demo.engine.wait_for_status_changes()

    # and the undo of releases that ended badly finished it from outside the flow: v1 serves with its
    # count and autoscaling, v2 is torn down, the lock is free, and people are told so
    assert_v1_serves_as_before(demo)
    assert_torn_down(demo, "web-2")
    assert lock_item(demo) is None
    told = [m["Message"] for m in notifications(demo, queue)]
    assert any("was left half undone by its own undo. Undone:" in m for m in told), told
    # and the same release started again succeeds
    assert finish(demo, start(demo, "2", config_with(demo), name="release-2-again"))["status"] == "SUCCEEDED"


def test_a_crashed_approval_request_asks_again_and_the_release_goes_on(demo):
    # Given the function that asks for the approval dies once, before asking
    with faults.crash_before(["RequestApproval"]) as crashed:
        # When v2 is released with a manual approval, and the operator answers what is asked now
        arn = start(demo, "2", config_with(demo, approval={"mode": "manual", "timeout_seconds": 600}))
        operations.approve(demo.sfn, arn, by="operator", wait_seconds=90)
        result = finish(demo, arn)

    # Then the request was made again, the answer went to it, and the release succeeded
    assert crashed == {"RequestApproval": 1}
    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert demo.forward(demo.public_rule) == {"demo-web-2": 1}
