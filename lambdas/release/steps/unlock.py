"""Release the service's lock, whatever way the release ends; someone else's lock is left alone.

The state machine's own unlock states call it (on success and after every undo). For executions
that end outside the flow (stopped by hand, timed out, or failed where no Catch sees it) the undo
of stopped releases (`release.steps.stopped`) frees the lock with `release_held_by`.
"""
from __future__ import annotations

from typing import Any

from release.adapters import records
from release.results import Unlock
from release.step import StepEvent, lambda_step


def release(key: str, owner: str) -> dict[str, Any]:
    if records.delete(key, "held_by = :me", {":me": owner}):
        return {"lock": key, "changed": "released"}
    held = records.get(key)
    if held is None:
        return {"lock": key, "changed": None, "found": "not locked"}
    return {"lock": key, "changed": None, "found": f"held by {held.get('held_by')}, left alone"}


def release_held_by(execution_arn: str) -> dict[str, Any]:
    """Every lock this execution still holds; the table holds one item per service, so a scan is small."""
    released = [release(key, execution_arn) for key in records.keys_held_by(execution_arn)]
    return {"execution": execution_arn, "released": [r["lock"] for r in released if r["changed"]]}


@lambda_step
def handler(event: StepEvent) -> Unlock:
    plan = event.raw.get("plan")
    if not plan:
        return Unlock(found="the release never took a lock")
    return Unlock(**release(plan["lock_key"], event.execution_id))
