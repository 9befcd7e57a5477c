"""The release record's decision: which version serves now, what a rollback brings back, and the
retired versions kept for `cutover rollback --to`.

Pure, like `release.decisions`: RecordRelease reads the record and the earlier steps' results,
decides here, then writes only when the record does not say it all already.
"""
from __future__ import annotations

from typing import Any

from release.intent import CHANGE, KEEP, Intent
from release.plan_view import PlanView as Plan


def kept_versions(plan: Plan, record: dict[str, Any], previous: dict[str, Any] | None, now: str) -> dict[str, Any]:
    """Every retired version cleanup keeps, by version, with what `cutover rollback --to` restores:
    the newest `retired_versions_to_keep` of them, as cleanup keeps them; never the one serving."""
    kept = dict(record.get("kept") or {})
    if previous and previous["version"] not in kept:
        kept[previous["version"]] = {**previous, "retired_at": now}
    kept.pop(plan.version, None)
    newest = sorted(kept.items(), key=lambda item: item[1].get("retired_at", ""), reverse=True)
    return dict(newest[: plan.config.release.retired_versions_to_keep])


def record_update(plan: Plan, record: dict[str, Any], previous: dict[str, Any] | None, retired: set[str],
                  execution_id: str, now: str) -> Intent:
    """The attributes to write (`after`), or keep when the record already says all of it.
    (`previous`: the version this release retired, as a rollback brings it back; `retired`: the
    names of the services it retired, whose entries in the record stay.)"""
    current = record.get("current") or {}
    attributes: dict[str, Any] = {"cluster": plan.cluster}
    if previous:
        attributes["previous"] = previous
        # What earlier releases retired is no longer needed (a rollback brings back `previous`);
        # keeping only this release's entries stops the item growing with every release.
        attributes["retired"] = {k: v for k, v in (record.get("retired") or {}).items() if k in retired}
    attributes["kept"] = kept_versions(plan, record, previous, now)
    serves = current.get("version") == plan.version and current.get("ecs_service") == plan.ecs_service
    if serves and all(record.get(name) == value for name, value in attributes.items()):
        return Intent(KEEP, "release record", plan.record_key, before=current.get("version"), after=plan.version,
                      why=f"record already says {plan.version} serves")
    attributes["current"] = {
        "version": plan.version, "ecs_service": plan.ecs_service, "release": execution_id,
        "target_groups": {r.route.name: r.target_group_name for r in plan.routes},
        "config": plan.config.model_dump(mode="json"),
        "at": now,
    }
    return Intent(CHANGE, "release record", plan.record_key, before=current.get("version"), after=attributes,
                  why=f"{current.get('version') or 'nothing'} -> {plan.version}")
