"""Compensation through the real definition: a failed release leaves production as it found it."""
from __future__ import annotations

from cutover import operations
from cutover.local import faults
from tests.e2e.safety_fixtures import (
    assert_torn_down, assert_v1_serves_as_before, config_with, finish, lock_item, start, world,
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
    # v2 is scaled to zero, without autoscaling, marked obsolete for the next release's cleanup,
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


def test_failure_after_the_old_version_was_retired_brings_it_back(demo):
    # Given a step after the switch that always fails: marking v1 obsolete, once v1 is retired
    with faults.refuse("MarkObsolete", TagPolicyViolation("tagging web-1 is denied by a tag policy")):
        # When v2 is released
        result = finish(demo, start(demo, "2", config_with(demo)))

    # Then the release failed with that error and says it rolled back,
    assert result["status"] == "FAILED"
    assert result["error"] == "TagPolicyViolation", result.get("cause")
    assert "tagging web-1 is denied" in result["cause"]
    assert "Rolled back: public rules back on the old version" in result["cause"]
    # v1 serves again with its count and its autoscaling (min, max and policy) restored,
    assert_v1_serves_as_before(demo)
    assert "cutover:obsolete-since" not in {t["key"] for t in demo.service("web-1")["tags"]}
    # v2 is retired like a failed preparation, and the lock is released
    assert_torn_down(demo, "web-2")
    assert demo.forward(demo.preparing_rule) == {"demo-web-1": 1}
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
    # Given a step after v1 was retired always fails, and the traffic rollback dies once after its work
    with faults.refuse("MarkObsolete", TagPolicyViolation("tagging web-1 is denied by a tag policy")), \
            faults.crash_after(["RollBackTraffic"]) as crashed:
        # When v2 is released
        result = finish(demo, start(demo, "2", config_with(demo)))

    # Then the rollback ran again without harm: v1 serves with its count and autoscaling, once
    assert crashed == {"RollBackTraffic": 1}
    assert result["error"] == "TagPolicyViolation", result.get("cause")
    assert_v1_serves_as_before(demo)
    assert_torn_down(demo, "web-2")
    assert lock_item(demo) is None
