"""The lock and unlock steps against moto: one holder, stale locks taken over, others left alone."""
from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from cutover.local import engine, iam, lambdas
from cutover.local.lambdas import LocalContext
from cutover_steps.adapters import clients as aws
from cutover_steps.errors import ReleaseInProgress
from cutover_steps.steps import lock_service as lock, undo_stopped_release as stopped, unlock_service as unlock

TABLE = engine.TABLE_NAME
KEY = "lock#demo#web"


@pytest.fixture
def world(monkeypatch):
    """A release table and a state machine whose executions stand for releases: each waits until it is
    stopped, whether moto runs executions or not (a local engine started earlier in the same test
    process leaves moto running them)."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1", "RELEASE_TABLE": TABLE}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    lambdas.install()  # the steps' calls are checked against their functions' roles
    with mock_aws():
        aws.reset()
        boto3.client("dynamodb").create_table(
            TableName=TABLE, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        )
        sfn = boto3.client("stepfunctions")
        role = boto3.client("iam").create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        machines = {name: sfn.create_state_machine(
            name=name, roleArn=role,
            definition=json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "End": True}}}),
        )["stateMachineArn"] for name in ("cutover-release", "cutover-release-Undo")}

        def execution(name: str, machine: str = "cutover-release") -> str:
            return sfn.start_execution(stateMachineArn=machines[machine], name=name, input="{}")["executionArn"]

        yield sfn, execution
        for machine in machines.values():
            for running in sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING")["executions"]:
                sfn.stop_execution(executionArn=running["executionArn"])
        aws.reset()


def locking(*args):
    with iam.running("LockService"):
        return lock.take(*args)


def unlocking(function, *args):
    with iam.running("UnlockService"):
        return function(*args)


def holder() -> str | None:
    item = boto3.client("dynamodb").get_item(TableName=TABLE, Key={"pk": {"S": KEY}}).get("Item")
    return item["held_by"]["S"] if item else None


def test_the_first_release_takes_the_lock_and_a_retry_of_it_keeps_it(world):
    sfn, execution = world
    owner = execution("release-2")

    # When the lock is taken, then taken again by the same execution (a retried step)
    first = locking(KEY, owner, {"version": "2"})
    again = locking(KEY, owner, {"version": "2"})

    # Then it is held by that execution, and the retry changed nothing about that
    assert first["changed"] == "taken" and again["changed"] == "taken"
    assert holder() == owner


def test_a_second_release_is_refused_while_the_holder_runs(world):
    sfn, execution = world
    owner, other = execution("release-2"), execution("release-3")
    locking(KEY, owner, {"version": "2"})

    # When another execution asks for the same service's lock
    with pytest.raises(ReleaseInProgress) as error:
        locking(KEY, other, {"version": "3"})

    # Then it is refused, naming the running holder, and the lock is unchanged
    assert owner in str(error.value)
    assert holder() == owner


@pytest.mark.parametrize("end", ["stopped and undone", "gone"])
def test_a_lock_whose_holder_has_ended_is_taken_over(world, end):
    sfn, execution = world
    if end == "stopped and undone":
        stale = execution("release-2")
        sfn.stop_execution(executionArn=stale)
        # Its undo ran (and failed for good, leaving the lock): nothing of the release can still change
        sfn.stop_execution(executionArn=execution("release-2", machine="cutover-release-Undo"))
    else:
        stale = "arn:aws:states:us-east-1:123456789012:execution:cutover-release:deleted-long-ago"
    boto3.client("dynamodb").put_item(TableName=TABLE, Item={"pk": {"S": KEY}, "held_by": {"S": stale}})
    newcomer = execution("release-3")

    # When a new release asks for the lock
    result = locking(KEY, newcomer, {"version": "3"})

    # Then it takes it over and says from whom
    assert result["changed"] == "taken over from a stale lock"
    assert result["stale_owner"] == stale
    assert holder() == newcomer


def test_a_lock_whose_holder_was_stopped_is_not_taken_over_before_its_undo_has_run(world):
    sfn, execution = world
    stale = execution("release-2")
    sfn.stop_execution(executionArn=stale)
    boto3.client("dynamodb").put_item(TableName=TABLE, Item={"pk": {"S": KEY}, "held_by": {"S": stale}})

    # When a new release asks for the lock before the stopped release's undo ran (its status
    # change late or lost): the stopped release's steps may still be changing the service
    with pytest.raises(ReleaseInProgress) as error:
        locking(KEY, execution("release-3"), {"version": "3"})

    # Then it is refused, saying what it waits for, and the lock stays with the stopped release
    assert "ended without its undo yet" in str(error.value)
    assert holder() == stale


def test_unlock_releases_only_its_own_lock(world):
    sfn, execution = world
    owner, other = execution("release-2"), execution("release-3")
    locking(KEY, owner, {"version": "2"})

    # When another execution unlocks, nothing happens; when the holder unlocks, the lock is gone
    assert unlocking(unlock.release, KEY, other)["changed"] is None
    assert holder() == owner
    assert unlocking(unlock.release, KEY, owner)["changed"] == "released"
    assert holder() is None
    # and unlocking again (a retried step) is harmless
    assert unlocking(unlock.release, KEY, owner) == {"lock": KEY, "changed": None, "found": "not locked"}


def test_unlock_without_a_plan_says_no_lock_was_taken(world):
    # Given an execution that failed before it had a plan (bad input): the step gets no plan
    context = LocalContext(function_name="cutover-UnlockService", invoked_function_arn="")
    result = unlocking(unlock.handler, {"release": {"execution_id": "x"}}, context)
    assert result == {"changed": None, "found": "the release never took a lock"}


def status_change(execution_arn: str, status: str) -> dict:
    """The EventBridge event Step Functions sends when an execution's status changes."""
    return {"version": "0", "source": "aws.states", "detail-type": "Step Functions Execution Status Change",
            "detail": {"executionArn": execution_arn, "status": status}}


def undoing(event: dict) -> dict:
    """The undo of stopped releases, as the EventBridge rule invokes it, with its function's role."""
    context = LocalContext(function_name="cutover-UndoStoppedRelease", invoked_function_arn="")
    with iam.running("UndoStoppedRelease"):
        return stopped.handler(event, context)


def test_a_release_stopped_by_hand_has_its_lock_freed_by_its_undo(world):
    sfn, execution = world
    owner, other = execution("release-2"), execution("release-3")
    locking(KEY, owner, {"version": "2"})
    boto3.client("dynamodb").put_item(TableName=TABLE, Item={"pk": {"S": "lock#demo#api"}, "held_by": {"S": other}})
    sfn.stop_execution(executionArn=owner)

    # When its undo runs (it had not got as far as a plan: there is nothing else to undo)
    found = undoing({"phase": "find", "execution": owner})
    result = undoing({"phase": "finish", "execution": owner, "found": found, "undo": {}, "health": {}})

    # Then its lock is released, and another release's lock is left alone
    assert found["undo"] is False and found["status"] == "ABORTED"
    assert result["released"] == [KEY]
    assert holder() is None
    assert boto3.client("dynamodb").get_item(TableName=TABLE, Key={"pk": {"S": "lock#demo#api"}})["Item"]["held_by"]["S"] == other


def test_a_status_change_starts_one_undo_named_after_the_release(world, monkeypatch):
    sfn, execution = world
    owner = execution("release-2")
    sfn.stop_execution(executionArn=owner)
    undo_machine = owner.replace(":execution:", ":stateMachine:").rsplit(":", 1)[0] + "-Undo"
    monkeypatch.setenv("UNDO_STATE_MACHINE_ARN", undo_machine)

    # When EventBridge delivers the ABORTED status, then delivers it again
    first, second = undoing(status_change(owner, "ABORTED")), undoing(status_change(owner, "ABORTED"))

    # Then one undo execution runs, under the release execution's name, and the second start is it
    undos = sfn.list_executions(stateMachineArn=undo_machine)["executions"]
    assert [u["name"] for u in undos] == ["release-2"]
    assert first["undo_execution"] == second["undo_execution"] == undos[0]["executionArn"]


def test_a_running_release_keeps_its_lock_whatever_event_arrives(world):
    sfn, execution = world
    owner = execution("release-2")
    locking(KEY, owner, {"version": "2"})

    result = undoing(status_change(owner, "RUNNING"))

    assert result["changed"] is None
    assert holder() == owner


def claiming(*args):
    with iam.running("UndoStoppedRelease"):
        return lock.claim_for_undo(*args)


def test_a_lock_its_ended_holders_undo_is_using_is_not_taken_over(world):
    sfn, execution = world
    stopped_release = execution("release-2")
    locking(KEY, stopped_release, {"version": "2"})
    sfn.stop_execution(executionArn=stopped_release)
    # Given the undo of the stopped release has marked the lock and is undoing it
    assert claiming(KEY, stopped_release)

    # When a new release asks for the lock meanwhile
    with pytest.raises(ReleaseInProgress) as error:
        locking(KEY, execution("release-3"), {"version": "3"})

    # Then it is refused, saying the service is being undone and how to know when it is done
    assert "is being undone after" in str(error.value) and "cutover status release-2" in str(error.value)
    assert holder() == stopped_release


def test_an_undo_whose_lock_another_release_took_over_does_not_run(world):
    sfn, execution = world
    stopped_release, newcomer = execution("release-2"), execution("release-3")
    sfn.stop_execution(executionArn=stopped_release)
    # Given a new release holds the service's lock (taken over once the stopped release's undo had ended)
    boto3.client("dynamodb").put_item(TableName=TABLE, Item={"pk": {"S": KEY}, "held_by": {"S": newcomer}})

    # Then a late undo may not claim it (and so changes nothing); the new release keeps its lock
    assert claiming(KEY, stopped_release) is False
    assert holder() == newcomer
    # A lock already free (the undo delivered again after it finished) lets the undo run: it changes nothing
    unlocking(unlock.release, KEY, newcomer)
    assert claiming(KEY, stopped_release) is True and holder() is None
