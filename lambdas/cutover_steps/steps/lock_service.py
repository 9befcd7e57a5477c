"""Lock the service: one release per cluster and service at a time.

A lock whose owner execution is no longer running (stopped by hand, timed out) is stale and is
taken over, so a lost unlock never blocks the service for good; except while the undo of that
ended release runs (`claim_for_undo`): taking it over then would let two of them change the
service at once, so the new release waits, at most the undo's time limit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from cutover_steps.decisions import forward as decisions
from cutover_steps.reads import lock as lock_reads
from cutover_steps.adapters import records
from cutover_steps.errors import ReleaseInProgress
from cutover_steps.decisions.intent import CHANGE, CREATE, Intent
from cutover_steps.results import Lock
from cutover_steps.runtime.protocol import StepProtocol
from cutover_steps.runtime.step import StepEvent


@dataclass(frozen=True)
class Found:
    held: dict[str, Any] | None
    holder_running: bool
    undo_pending: bool
    now: datetime


@dataclass(frozen=True)
class Decided:
    intent: Intent | None
    refusal: ReleaseInProgress | None = None

    @property
    def intents(self) -> list[Intent]:
        return [self.intent] if self.intent else []


def read_lock(key: str, owner: str | None) -> Found:
    return Found(*lock_reads.found(key, owner), now=datetime.now(timezone.utc))


def decide_lock(key: str, owner: str | None, found: Found) -> Decided:
    try:
        return Decided(decisions.lock(key, owner, found.held, found.holder_running, found.now, found.undo_pending))
    except ReleaseInProgress as refused:
        return Decided(None, refused)


def take(key: str, owner: str, details: dict[str, Any]) -> dict[str, Any]:
    """Read, decide and write the lock of `key` for the execution `owner`."""
    decided = decide_lock(key, owner, read_lock(key, owner))
    if decided.refusal is not None:
        raise decided.refusal
    return write(key, owner, details, decided.intent)


def write(key: str, owner: str, details: dict[str, Any], intent: Intent) -> dict[str, Any]:
    """Write the decided lock, only if nobody else has taken it since it was read."""
    attributes = {"held_by": owner, "taken_at": datetime.now(timezone.utc).isoformat(), **details}
    stale = (intent.before or {}).get("held_by")
    if intent.action == CREATE:
        written = records.put(key, attributes, "attribute_not_exists(pk)")
    else:
        # Held by this execution already (a retry), or a stale lock taken over: held as it was read.
        written = records.put(key, attributes, "held_by = :held", {":held": stale})
    if not written:
        # Taken by another release between the read and the write: the decision on the lock as it is
        # now names that release.
        again = decide_lock(key, owner, read_lock(key, owner))
        raise again.refusal or ReleaseInProgress(f"{key.split('#', 1)[1]} was just locked by another release; start again later")
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


def read(event: StepEvent) -> Found:
    # A plan has no execution yet: no lock is its own.
    return read_lock(event.plan.lock_key, event.execution_id or None)


def decide(event: StepEvent, found: Found) -> Decided:
    return decide_lock(event.plan.lock_key, event.execution_id or None, found)


def apply(event: StepEvent, decided: Decided) -> Lock:
    plan = event.plan
    return Lock(**write(plan.lock_key, event.execution_id, {"version": plan.version, "env": plan.env}, decided.intent))


def expect(event: StepEvent, decided: Decided) -> Lock:
    return Lock(lock=event.plan.lock_key, changed="taken", owner=event.execution_id or None)


STEP = StepProtocol(read, decide, apply, expect)
handler = STEP.handler()
