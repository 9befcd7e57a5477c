"""Where moto behaves differently from AWS in ways a release can see, put back to AWS's behaviour;
and one saving of time that changes nothing a release can see.

Each fix replaces one private moto method, which is why moto is pinned exactly.
"""
from __future__ import annotations

import threading

_dynamodb_write = threading.Lock()


def make_dynamodb_writes_atomic() -> None:
    """DynamoDB checks a write's condition and writes as one step; moto checks, then writes, so two
    releases locking at the same instant could both win. One lock around moto's writes restores
    the guarantee the release lock relies on."""
    from moto.dynamodb.models import DynamoDBBackend

    for name in ("put_item", "update_item", "delete_item"):
        original = getattr(DynamoDBBackend, name)
        if getattr(original, "cutover_fix", False):
            continue

        def atomic(self, *args, _original=original, **kwargs):
            with _dynamodb_write:
                return _original(self, *args, **kwargs)

        atomic.cutover_fix = True
        setattr(DynamoDBBackend, name, atomic)


def keep_early_task_token_answers() -> None:
    """Step Functions accepts SendTaskSuccess as soon as the token exists. moto sets up the
    heartbeat watch only after it has recorded TaskSubmitted, and an answer that came before
    would go unseen until the heartbeat ran out; looking for it first keeps it."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
        StateTaskServiceCallback,
    )

    original = StateTaskServiceCallback._wait_for_task_token_heartbeat
    if getattr(original, "cutover_fix", False):
        return

    def answered_first(self, env, callback_endpoint, heartbeat_endpoint):
        outcome = callback_endpoint.get_outcome()
        if outcome is not None:
            return outcome
        return original(self, env, callback_endpoint, heartbeat_endpoint)

    answered_first.cutover_fix = True
    StateTaskServiceCallback._wait_for_task_token_heartbeat = answered_first


def validate_each_definition_once() -> None:
    """CreateStateMachine parses the definition to validate it (about half a second of CPU for the
    release's). A definition text that was valid once is valid again: the local engine creates the
    same one in every new account, so its validation is remembered. An invalid one is parsed, and
    refused, every time."""
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original = StepFunctionsParserBackend.__dict__["_validate_definition"].__func__
    if getattr(original, "cutover_fix", False):
        return
    valid: set[str] = set()

    def remembered(definition: str):
        if definition not in valid:
            original(definition=definition)
            valid.add(definition)

    remembered.cutover_fix = True
    StepFunctionsParserBackend._validate_definition = staticmethod(remembered)


def install() -> None:
    make_dynamodb_writes_atomic()
    keep_early_task_token_answers()
    validate_each_definition_once()
