"""Release the service's lock, whatever way the release ends; someone else's lock is left alone.

Two callers: the state machine's own unlock states (on success and after every undo), and an
EventBridge rule for every end but success: an execution stopped by hand or timed out, and one
that failed where no Catch sees it (`States.Runtime`, `States.DataLimitExceeded`) skip every
state, the unlock states included. For a release that failed through its own flow the lock is
already free and the event changes nothing.
"""
from __future__ import annotations

from typing import Any

from release.adapters import records
from release.step import StepEvent, lambda_step

ENDS_THAT_MAY_SKIP_THE_UNLOCK = {"ABORTED", "TIMED_OUT", "FAILED"}


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


def from_status_change(detail: dict[str, Any]) -> dict[str, Any]:
    status = detail.get("status")
    if status not in ENDS_THAT_MAY_SKIP_THE_UNLOCK:
        return {"changed": None, "found": f"execution {status}: it has not ended, or ended through its own unlock"}
    return release_held_by(detail["executionArn"])


@lambda_step
def handler(event: StepEvent) -> dict[str, Any]:
    if event.raw.get("detail-type") == "Step Functions Execution Status Change":
        return from_status_change(event.raw.get("detail") or {})
    plan = event.raw.get("plan")
    if not plan:
        return {"changed": None, "found": "the release never took a lock"}
    return release(plan["lock_key"], event.execution_id)
