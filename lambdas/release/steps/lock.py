"""Lock the service: one release per cluster and service at a time.

A lock whose owner execution is no longer running (stopped by hand, timed out) is stale and is
taken over, so a lost unlock never blocks the service for good.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import ClientError

from release.adapters import records
from release.aws import client
from release.errors import ReleaseInProgress
from release.step import StepEvent, lambda_step


def owner_running(execution_arn: str) -> bool:
    try:
        status = client("stepfunctions").describe_execution(executionArn=execution_arn)["status"]
    except ClientError as error:
        if error.response["Error"]["Code"] in ("ExecutionDoesNotExist", "InvalidArn"):
            return False
        raise
    return status == "RUNNING"


def take(key: str, owner: str, details: dict[str, Any]) -> dict[str, Any]:
    attributes = {"held_by": owner, "taken_at": datetime.now(timezone.utc).isoformat(), **details}
    if records.put(key, attributes, "attribute_not_exists(pk) OR held_by = :me", {":me": owner}):
        return {"lock": key, "changed": "taken", "owner": owner, "taken_at": attributes["taken_at"]}
    held = records.get(key) or {}
    holder = held.get("held_by", "")
    if holder and owner_running(holder):
        raise ReleaseInProgress(
            f"{key.split('#', 1)[1]} is being released by {holder} (since {held.get('taken_at')}); "
            "wait for it to finish, or stop it, then start again"
        )
    # The holder has ended without unlocking; take over only if nobody else did in between.
    if not records.put(key, attributes, "held_by = :stale", {":stale": holder}):
        raise ReleaseInProgress(f"{key.split('#', 1)[1]} was just locked by another release; start again later")
    return {"lock": key, "changed": "taken over from a stale lock", "stale_owner": holder, "owner": owner,
            "taken_at": attributes["taken_at"]}


@lambda_step
def handler(event: StepEvent) -> dict[str, Any]:
    plan = event.plan
    return take(plan.lock_key, event.execution_id, {"version": plan.version, "env": plan.env})
