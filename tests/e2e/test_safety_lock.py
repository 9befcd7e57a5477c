"""The release lock through the real definition: one release per cluster and service at a time."""
from __future__ import annotations

from cutover.operations import executions as operations
from cutover.local.engine import TABLE_NAME
from tests.e2e.safety_fixtures import LOCK_KEY, config_with, entered, finish, lock_item, start, world


def test_second_release_while_one_waits_for_approval_fails_fast_and_changes_nothing(demo):
    # Given v2 waiting for approval, holding the lock
    first = demo.start("2")
    assert operations.wait_for_state(demo.sfn, first, operations.APPROVAL_STATE, 60)
    assert lock_item(demo)["held_by"]["S"] == first
    before = world(demo)

    # When v3 of the same service is released meanwhile
    second = finish(demo, start(demo, "3", config_with(demo), name="release-3"))

    # Then v3 failed at the lock, naming the release that holds it,
    assert second["status"] == "FAILED"
    assert second["error"] == "ReleaseInProgress", second.get("cause")
    assert first in second["cause"]
    assert entered(demo, second["executionArn"])[-1] == "Another release holds the lock"
    # nothing in AWS changed, and the lock still belongs to v2's release
    assert world(demo) == before
    assert lock_item(demo)["held_by"]["S"] == first

    # When v2 is approved, it finishes and releases the lock
    operations.approve(demo.sfn, first, by="alice", wait_seconds=30)
    assert finish(demo, first)["status"] == "SUCCEEDED"
    assert lock_item(demo) is None


def test_two_releases_started_at_once_one_wins_the_lock(demo):
    # Given two different versions of one service started together
    config = config_with(demo)
    arns = {version: start(demo, version, config) for version in ("2", "3")}

    # When both have ended
    results = {version: finish(demo, arn) for version, arn in arns.items()}

    # Then exactly one succeeded; the other failed at the lock, naming the winner
    statuses = sorted(r["status"] for r in results.values())
    assert statuses == ["FAILED", "SUCCEEDED"]
    winner = next(v for v, r in results.items() if r["status"] == "SUCCEEDED")
    loser = next(v for v, r in results.items() if r["status"] == "FAILED")
    assert results[loser]["error"] == "ReleaseInProgress", results[loser].get("cause")
    assert arns[winner] in results[loser]["cause"]
    # only the winner made anything, and it alone serves
    assert demo.forward(demo.public_rule) == {f"demo-web-{winner}": 1}
    assert f"demo-web-{loser}" not in demo.target_group_names()
    assert demo.service(f"web-{loser}") is None
    assert lock_item(demo) is None


def test_a_lock_left_by_an_ended_execution_is_taken_over(demo):
    # Given a lock left behind by an execution that no longer runs (stopped by hand, say)
    ended = finish(demo, demo.start("bad/version", name="ended-release"))
    assert ended["status"] == "FAILED"
    demo.client("dynamodb").put_item(TableName=TABLE_NAME, Item={
        "pk": {"S": LOCK_KEY}, "held_by": {"S": ended["executionArn"]}, "taken_at": {"S": "2024-01-01T00:00:00+00:00"},
    })

    # When v2 is released
    arn = start(demo, "2", config_with(demo))
    result = finish(demo, arn)

    # Then the stale lock was taken over, the release succeeded, and the lock is free again
    assert result["status"] == "SUCCEEDED", result.get("cause")
    lock_result = dict(operations.step_results(operations.history(demo.sfn, arn)))["Lock the service"]
    assert lock_result["stale_owner"] == ended["executionArn"]
    assert lock_item(demo) is None

