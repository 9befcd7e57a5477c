"""Lock the service: one release per cluster and service at a time.

A lock whose owner execution is no longer running (stopped by hand, timed out) is stale and is
taken over, so a lost unlock never blocks the service for good; except while the undo of that
ended release runs (`claim_for_undo`): taking it over then would let two of them change the
service at once, so the new release waits, at most the undo's time limit.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from cutover_steps.decisions import forward as decisions
from cutover_steps.reads import lock as lock_reads
from cutover_steps.adapters import records
from cutover_steps.errors import ReleaseInProgress
from cutover_steps.decisions.intent import CHANGE, CREATE, Intent
from cutover_steps.results import Lock
from cutover_steps.runtime.step import StepEvent, lambda_step

def take(key: str, owner: str, details: dict[str, Any]) -> dict[str, Any]:
    attributes = {"held_by": owner, "taken_at": datetime.now(timezone.utc).isoformat(), **details}
    # One call in the common case: the write's condition is the decision's free and held-by-this-release
    # cases, checked by DynamoDB atomically; the lock is read and decided on only when that fails.
    if records.put(key, attributes, "attribute_not_exists(pk) OR held_by = :me", {":me": owner}):
        return taken(key, attributes)
    held, running, undo_pending = lock_reads.found(key, owner)
    intent = decisions.lock(key, owner, held, running, datetime.now(timezone.utc), undo_pending)
    return apply(key, attributes, intent)


def apply(key: str, attributes: dict[str, Any], intent: Intent) -> dict[str, Any]:
    """Write the decided lock, only if nobody else has taken it since it was read."""
    stale = (intent.before or {}).get("held_by")
    if intent.action == CREATE:
        written = records.put(key, attributes, "attribute_not_exists(pk)")
    else:
        written = records.put(key, attributes, "held_by = :held", {":held": stale})
    if not written:
        raise ReleaseInProgress(f"{key.split('#', 1)[1]} was just locked by another release; start again later")
    if intent.action == CHANGE:
        return {**taken(key, attributes), "changed": "taken over from a stale lock", "stale_owner": stale}
    return taken(key, attributes)


def taken(key: str, attributes: dict[str, Any]) -> dict[str, Any]:
    return {"lock": key, "changed": "taken", "owner": attributes["held_by"], "taken_at": attributes["taken_at"]}


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
