"""Record what serves now and what a rollback would bring back, in the release table: the record is
read, the update decided in `release.record_decision`, and written only when it says something new."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from release import record_decision
from release.adapters import records
from release.results import Recorded
from release.step import StepEvent, lambda_step, record_seconds


def retired_by_this_release(event: StepEvent, record: dict[str, Any]) -> list[dict[str, Any]]:
    """What this release retired. A re-run of a release whose first attempt retired the old
    version (and then failed) finds nothing left to retire: the entries that attempt wrote into
    the record, marked with this release, say what it was. Entries of other releases are stale."""
    retired = event.result("retire").get("retired", [])
    if retired:
        return retired
    entries = record.get("retired") or {}
    return [{"ecs_service": name, "version": entry.get("version")}
            for name, entry in sorted(entries.items()) if entry.get("release") == event.plan.release_id]


def previous_of(event: StepEvent, record: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """The version a rollback brings back, with what its retirement remembered in the record."""
    remembered = (record.get("retired") or {}).get(old["ecs_service"], {})
    return record_decision.previous_entry(event.plan, record, old, remembered, event.result("live"))


@lambda_step
def handler(event: StepEvent) -> Recorded:
    plan = event.plan
    record = records.get(plan.record_key) or {}
    retired = retired_by_this_release(event, record)
    previous = previous_of(event, record, retired[0]) if retired else None
    taken_at = event.result("lock").get("taken_at")
    if taken_at:
        record_seconds("ReleaseDurationSeconds", (datetime.now(timezone.utc) - datetime.fromisoformat(taken_at)).total_seconds())
    intent = record_decision.record_update(plan, record, previous, {r["ecs_service"] for r in retired},
                                           event.execution_id, datetime.now(timezone.utc).isoformat())
    if not intent.acts:
        return Recorded(changed=None, found=intent.why, previous=(record.get("previous") or {}).get("version"))
    records.update(plan.record_key, intent.after)
    return Recorded(changed=intent.why, previous=previous and previous["version"])
