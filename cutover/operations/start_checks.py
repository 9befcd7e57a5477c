"""What `start` and `rollback` check before an execution starts, the release's own checks made early so
that a taken name or nothing to roll back ends the command before anything changes. Where the command
cannot read what a check needs, it says so in a note and leaves the check to the release."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cutover.aws import errors as aws_errors, lookups
from cutover.aws.connection import Connection, release_clients
from cutover.exits import AwsError, NotFound, UsageError


def refuse_taken_names(connection: Connection, config: Any, start_input: dict[str, Any], *,
                       note: Callable[[str], None]) -> None:
    """The release's own check of its names, made here too so that a taken name is exit 2 before it starts."""
    from cutover.operations import planning
    from cutover_steps.decisions import ownership
    from cutover_steps.adapters import ecs
    from cutover_steps.reads import target_groups

    plan = planning.make_plan(config, start_input["env"], start_input["version"], start_input["image"], start_input["environment"])
    try:
        with release_clients(connection), aws_errors.translated():
            taken = ownership.taken_names(plan, target_groups.tags_by_name(plan), ecs.service(plan.cluster, plan.ecs_service))
    except AwsError as error:
        note(f"could not check the names here ({error.__cause__}); the release checks them itself")
        return
    if taken:
        raise UsageError("; ".join(taken) + " (give another version, or remove or rename that resource)")


def service_in(connection: Connection, uri: str, *, note: Callable[[str], None]) -> str | None:
    """The service name for the execution name; the release itself reads and checks the file."""
    import yaml

    try:
        data = yaml.safe_load(lookups.object_body(connection.client("s3"), uri))
        return data.get("service") if isinstance(data, dict) else None
    except (AwsError, yaml.YAMLError, UnicodeDecodeError):
        note(f"could not read {uri} here; the release reads it itself")
        return None


def refuse_nothing_to_roll_back(connection: Connection, env: str, service: str, version: str | None, *,
                                note: Callable[[str], None]) -> None:
    """The rollback's own choice of what to bring back, made here too, so that a version nobody kept
    is exit 3 before any execution starts (NothingToRollBack lists what is kept)."""
    from cutover_steps.plan import naming
    from cutover_steps.decisions import record as record_decision
    from cutover_steps.adapters import records
    from cutover_steps.errors import NothingToRollBack

    try:
        with aws_errors.translated():
            with release_clients(connection, connection.release_table()):
                record = records.get(naming.record_key(env, service))
    except (AwsError, NotFound) as error:
        note(f"could not read the release record here ({error.__cause__ or error}); "
             "the rollback checks it itself")
        return
    try:
        record_decision.rollback_target(record, env, service, version)
    except NothingToRollBack as error:
        raise NotFound(f"{error}; no execution was started") from error
