"""Release the service's lock, whatever way the release ends; someone else's lock is left alone.

The state machine's own unlock states call it (on success and after every undo). For executions
that end outside the flow (stopped by hand, timed out, or failed where no Catch sees it) the undo
of stopped releases (`cutover_steps.steps.undo_stopped_release`) frees the lock with `release_held_by`.
"""
from __future__ import annotations

from typing import Any

from cutover_steps.decisions import forward as decisions
from cutover_steps.adapters import records
from cutover_steps.results import Unlock
from cutover_steps.runtime.step import StepEvent, lambda_step


def release(key: str, owner: str) -> dict[str, Any]:
    # One call in the common case: the delete's condition is the decision's held-by-this-release case,
    # checked by DynamoDB atomically; the lock is read only to say why it was left as it is.
    if records.delete(key, "held_by = :me", {":me": owner}):
        return {"lock": key, "changed": "released"}
    intent = decisions.unlock(key, owner, records.get(key))
    return {"lock": key, "changed": None, "found": intent.why}


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
