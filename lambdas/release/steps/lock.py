"""Lock the service: one release per cluster and service at a time.

A lock whose owner execution is no longer running (stopped by hand, timed out) is stale and is
taken over, so a lost unlock never blocks the service for good; except while the undo of that
ended release runs (`claim_for_undo`): taking it over then would let two of them change the
service at once, so the new release waits, at most the undo's time limit.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from release.adapters import records
from release.adapters.executions import owner_running
from release.errors import ReleaseInProgress
from release.registry import BY_KEY, STOPPED_RELEASE_HANDLER
from release.results import Lock
from release.step import StepEvent, lambda_step

# An undo still marked after its function's time limit has died with it.
UNDO_SECONDS = BY_KEY[STOPPED_RELEASE_HANDLER].timeout_seconds


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
    undoing = held.get("undo_started_at")
    if undoing and datetime.now(timezone.utc) < datetime.fromisoformat(undoing) + timedelta(seconds=UNDO_SECONDS):
        raise ReleaseInProgress(
            f"{key.split('#', 1)[1]} is being undone after {holder} ended (since {undoing}); start again when "
            f"`cutover status {holder.rsplit(':', 1)[-1]}` says what the undo did"
        )
    # The holder has ended without unlocking; take over only if nobody else did in between.
    if not records.put(key, attributes, "held_by = :stale", {":stale": holder}):
        raise ReleaseInProgress(f"{key.split('#', 1)[1]} was just locked by another release; start again later")
    return {"lock": key, "changed": "taken over from a stale lock", "stale_owner": holder, "owner": owner,
            "taken_at": attributes["taken_at"]}


def claim_for_undo(key: str, owner: str) -> bool:
    """Mark the lock of an ended release as held by its undo; False when another release holds it
    now (it took over in between): the undo must then leave the service to it. A free lock (the undo
    delivered again, once it had finished) is not taken: no release runs, and undoing again changes nothing."""
    held = records.get(key)
    if held is None:
        return True
    if held.get("held_by") != owner:
        return False
    attributes = {**{k: v for k, v in held.items() if k != "pk"}, "undo_started_at": datetime.now(timezone.utc).isoformat()}
    return records.put(key, attributes, "held_by = :me", {":me": owner})


@lambda_step
def handler(event: StepEvent) -> Lock:
    plan = event.plan
    return Lock(**take(plan.lock_key, event.execution_id, {"version": plan.version, "env": plan.env}))
