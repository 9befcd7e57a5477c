"""Record what serves now and what a rollback would bring back, in the release table: the record is
read, the update decided in `cutover_steps.decisions.record`, and written only when it says something new.
Each version's config and kept autoscaling go to its own item first, so the record only names them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from cutover_steps.plan import naming
from cutover_steps.decisions import record as record_decision
from cutover_steps.decisions.intent import Intent
from cutover_steps.adapters import records
from cutover_steps.errors import CutoverError
from cutover_steps.results import Recorded
from cutover_steps.runtime.protocol import StepProtocol
from cutover_steps.runtime.step import StepEvent, record_seconds


@dataclass(frozen=True)
class Found:
    # The release record as it is (empty when none is).
    record: dict[str, Any]
    # The own item of the version this release retired, as it is (None when none is, or none retired).
    retired_item: dict[str, Any] | None
    # The clock, read once: the record's time and the release's duration.
    at: datetime


@dataclass(frozen=True)
class Decided:
    # The record's update (`after`: the attributes to write), or keep when it says all of it already.
    record: Intent
    # The version a rollback brings back (`record_decision.previous_entry`); None when none retired.
    previous: dict[str, Any] | None
    # The version a record already saying it all names as the one a rollback brings back.
    previous_found: str | None
    # Key -> what to set on each version's own item, written before the record that names them.
    items: dict[str, dict[str, Any]]
    # The release's time from its lock to now, for the ReleaseDurationSeconds metric (None: no lock taken).
    release_seconds: float | None
    refusal: CutoverError | None = None

    @property
    def intents(self) -> list[Intent]:
        return [self.record]


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


def version_items(event: StepEvent, record: dict[str, Any], old: dict[str, Any] | None,
                  old_item: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Key -> what to set: the serving version's config, the retired version's autoscaling (and config
    when its item, `old_item` as read, has none), and what a record of an older Cutover kept inline of
    other versions."""
    plan = event.plan
    key = lambda version: naming.version_key(plan.env, plan.service, version)  # noqa: E731
    items = {key(version): {"version": version, **{k: entry[k] for k in record_decision.INLINE if k in entry}}
             for version, entry in (record.get("kept") or {}).items() if any(k in entry for k in record_decision.INLINE)}
    if old is not None:
        remembered = (record.get("retired") or {}).get(old["ecs_service"], {})
        items[key(old["version"])] = record_decision.version_item(plan, record, old["version"], old_item, remembered)
    items[key(plan.version)] = record_decision.serving_item(plan)
    return items


def read(event: StepEvent) -> Found:
    """The record, the own item of the version this release retired, and the clock."""
    plan = event.plan
    record = records.get(plan.record_key) or {}
    retired = retired_by_this_release(event, record)
    item = records.get(naming.version_key(plan.env, plan.service, retired[0]["version"])) if retired else None
    return Found(record, item, datetime.now(timezone.utc))


def decide(event: StepEvent, found: Found) -> Decided:
    plan, record = event.plan, found.record
    retired = retired_by_this_release(event, record)
    previous = previous_of(event, record, retired[0]) if retired else None
    taken_at = event.results.lock.taken_at
    return Decided(
        record=record_decision.record_update(plan, record, previous, {r["ecs_service"] for r in retired},
                                             event.execution_id, found.at.isoformat()),
        previous=previous, previous_found=(record.get("previous") or {}).get("version"),
        items=version_items(event, record, retired[0] if retired else None, found.retired_item),
        release_seconds=(found.at - datetime.fromisoformat(taken_at)).total_seconds() if taken_at else None)


def apply(event: StepEvent, decided: Decided) -> Recorded:
    if decided.release_seconds is not None:
        record_seconds("ReleaseDurationSeconds", decided.release_seconds)
    if decided.record.acts:
        # The versions' own items before the record that names them: a run cut short between the two
        # leaves the record as it was, and the next run writes both.
        for key, attributes in decided.items.items():
            records.update(key, attributes)
        records.update(event.plan.record_key, decided.record.after)
    return expect(event, decided)


def expect(event: StepEvent, decided: Decided) -> Recorded:
    if not decided.record.acts:
        return Recorded(changed=None, found=decided.record.why, previous=decided.previous_found)
    return Recorded(changed=decided.record.why, previous=decided.previous and decided.previous["version"])


STEP = StepProtocol(read, decide, apply, expect)
handler = STEP.handler()
