"""Release the service's lock, whatever way the release ends; someone else's lock is left alone."""
from __future__ import annotations

from typing import Any

from release.adapters import records
from release.step import StepEvent, lambda_step


def release(key: str, owner: str) -> dict[str, Any]:
    if records.delete(key, "held_by = :me", {":me": owner}):
        return {"lock": key, "changed": "released"}
    held = records.get(key)
    if held is None:
        return {"lock": key, "changed": None, "found": "not locked"}
    return {"lock": key, "changed": None, "found": f"held by {held.get('held_by')}, left alone"}


@lambda_step
def handler(event: StepEvent) -> dict[str, Any]:
    plan = event.raw.get("plan")
    if not plan:
        return {"changed": None, "found": "the release never took a lock"}
    return release(plan["lock_key"], event.execution_id)
