"""Record what serves now and what a rollback would bring back, in the release table: the record is
read, the update decided in `cutover_steps.decisions.record`, and written only when it says something new.
Each version's config and kept autoscaling go to its own item first, so the record only names them."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from cutover_steps.plan import naming
from cutover_steps.decisions import record as record_decision
from cutover_steps.adapters import records
from cutover_steps.results import Recorded
from cutover_steps.runtime.step import StepEvent, lambda_step, record_seconds


def retired_by_this_release(event: StepEvent, record: dict[str, Any]) -> list[dict[str, Any]]:
    """What this release retired. A re-run of a release whose first attempt retired the old
    version (and then failed) finds nothing left to retire: the entries that attempt wrote into
    the record, marked with this release, say what it was. Entries of other releases are stale."""
    retired = event.results.retire.retired
    if retired:
        return retired
    entries = record.get("retired") or {}
    return [{"ecs_service": name, "version": entry.get("version")}
            for name, entry in sorted(entries.items()) if entry.get("release") == event.plan.release_id]


def previous_of(event: StepEvent, record: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """The version a rollback brings back, with what its retirement remembered in the record."""
    remembered = (record.get("retired") or {}).get(old["ecs_service"], {})
    return record_decision.previous_entry(event.plan, record, old, remembered, event.results.live.to_json())


def version_items(event: StepEvent, record: dict[str, Any], old: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Key -> what to set: the serving version's config, the retired version's autoscaling (and config
    when its item has none), and what a record of an older Cutover kept inline of other versions."""
    plan = event.plan
    key = lambda version: naming.version_key(plan.env, plan.service, version)  # noqa: E731
    items = {key(version): {"version": version, **{k: entry[k] for k in record_decision.INLINE if k in entry}}
             for version, entry in (record.get("kept") or {}).items() if any(k in entry for k in record_decision.INLINE)}
    if old is not None:
        remembered = (record.get("retired") or {}).get(old["ecs_service"], {})
        items[key(old["version"])] = record_decision.version_item(plan, record, old["version"], records.get(key(old["version"])),
                                                                  remembered)
    items[key(plan.version)] = record_decision.serving_item(plan)
    return items


@lambda_step
def handler(event: StepEvent) -> Recorded:
    plan = event.plan
    record = records.get(plan.record_key) or {}
    retired = retired_by_this_release(event, record)
    previous = previous_of(event, record, retired[0]) if retired else None
    taken_at = event.results.lock.taken_at
    if taken_at:
        record_seconds("ReleaseDurationSeconds", (datetime.now(timezone.utc) - datetime.fromisoformat(taken_at)).total_seconds())
    intent = record_decision.record_update(plan, record, previous, {r["ecs_service"] for r in retired},
                                           event.execution_id, datetime.now(timezone.utc).isoformat())
    if not intent.acts:
        return Recorded(changed=None, found=intent.why, previous=(record.get("previous") or {}).get("version"))
    # The versions' own items before the record that names them: a run cut short between the two
    # leaves the record as it was, and the next run writes both.
    for key, attributes in version_items(event, record, retired[0] if retired else None).items():
        records.update(key, attributes)
    records.update(plan.record_key, intent.after)
    return Recorded(changed=intent.why, previous=previous and previous["version"])
