"""The release record's decision: which version serves now, what a rollback brings back, and the
retired versions kept for `cutover rollback --to`.

The record names each version with its service, count and target groups only; what is large (the
deploy config, the autoscaling its retirement kept) lives in one item per version
(`naming.version_key`), so that the record stays far below DynamoDB's 400 KB item limit whatever
`retired_versions_to_keep` and the configs are. A record of an older Cutover holds them inline.

Pure, like `cutover_steps.decisions.forward`: RecordRelease reads the record and the earlier steps' results,
decides here, then writes only when the record does not say it all already.
"""
from __future__ import annotations

from typing import Any

from cutover_steps.plan.naming import target_group_name_of as name_of
from cutover_steps.errors import NothingToRollBack
from cutover_steps.decisions.intent import CHANGE, CREATE, KEEP, Intent
from cutover_steps.plan.view import PlanView as Plan

# What an older Cutover kept inline in the record's entries, and now lives in each version's item.
INLINE = ("config", "autoscaling")


def retired_groups(live: dict[str, Any], ecs_service: str) -> dict[str, str]:
    """Route -> name of the retired service's target group, as the public rules forwarded to it
    (`live`: what ReadLiveRoutes found)."""
    ours = {arn for o in live.get("old_services", []) if o["ecs_service"] == ecs_service for arn in o["target_groups"]}
    return {r["route"]: name_of(arn) for r in live.get("routes", []) for arn in r.get("old", []) if arn in ours}


def _known(record: dict[str, Any], version: str) -> dict[str, Any]:
    """What the record says of `version` as the one serving or the one retired last."""
    current, earlier = record.get("current") or {}, record.get("previous") or {}
    if current.get("version") == version:
        return current
    return earlier if earlier.get("version") == version else {}  # earlier: already moved along by a re-run


def previous_entry(plan: Plan, record: dict[str, Any], old: dict[str, Any], remembered: dict[str, Any],
                   live: dict[str, Any]) -> dict[str, Any]:
    """The version a rollback brings back: the retired one, with its count and target groups (its
    config and autoscaling go to its own item: `version_item`)."""
    return {
        "version": old["version"],
        "ecs_service": old["ecs_service"],
        "desired_count": remembered.get("desired_count") or old.get("desired_count_before"),
        # The names its target groups have (an adopted version's are not Cutover's): a rollback needs them.
        "target_groups": retired_groups(live, old["ecs_service"]) or _known(record, old["version"]).get("target_groups"),
    }


def version_item(plan: Plan, record: dict[str, Any], version: str, item: dict[str, Any] | None,
                 remembered: dict[str, Any]) -> dict[str, Any]:
    """What to set on the retired version's own item (`item`: as read): the autoscaling its retirement
    kept, and its config when the item has none yet (from a record of an older Cutover, or else
    today's, the closest for a version Cutover did not release)."""
    attributes: dict[str, Any] = {"version": version, "autoscaling": remembered.get("autoscaling")}
    if not (item or {}).get("config"):
        attributes["config"] = _known(record, version).get("config") or plan.config.model_dump(mode="json")
    return attributes


def serving_item(plan: Plan) -> dict[str, Any]:
    """What to set on the item of the version that serves now: its config."""
    return {"version": plan.version, "config": plan.config.model_dump(mode="json")}


def kept_versions(plan: Plan, record: dict[str, Any], previous: dict[str, Any] | None, now: str) -> dict[str, Any]:
    """Every retired version cleanup keeps, by version, with what `cutover rollback --to` restores:
    the newest `retired_versions_to_keep` of them, as cleanup keeps them; never the one serving."""
    kept = {version: {k: v for k, v in entry.items() if k not in INLINE}
            for version, entry in (record.get("kept") or {}).items()}
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
        "at": now,
    }
    return Intent(CHANGE if current else CREATE, "release record", plan.record_key, before=current.get("version"), after=attributes,
                  why=f"{current.get('version') or 'nothing'} -> {plan.version}")


def rollback_target(record: dict[str, Any] | None, env: str, service: str, version: str | None) -> dict[str, Any]:
    """The kept version a rollback brings back: `version` (`--to`) or the one the last release retired.
    NothingToRollBack lists what is kept, and says why nothing is, when there is no such version.
    LoadRelease decides with it, and `cutover rollback` before it starts an execution."""
    record = record or {}
    previous, kept = record.get("previous"), record.get("kept") or {}
    target = previous if version is None or (previous or {}).get("version") == version else kept.get(version)
    if target:
        return target
    choices = sorted(set(kept) | ({previous["version"]} if previous else set()))
    what = f"service {service!r} in env {env!r}"
    current = record.get("current") or {}
    if choices:
        why = f"version {version} serves now" if current.get("version") == version else (
            "it was never released here, or cleanup has deleted it (release.retired_versions_to_keep says how many "
            "retired versions stay)")
        raise NothingToRollBack(f"version: {what} keeps no version {version!r} ({why}); it keeps {', '.join(choices)}: "
                                f"give one of them to --to")
    if not record:
        why = ("no release of it is recorded here: none has finished yet, or the record step of the last one failed "
               "(its status shows that warning; the next release writes the record), or it runs outside Cutover "
               "(cutover adopt records it)")
    else:
        why = (f"version {current.get('version')} serves, and its release retired nothing Cutover could bring back "
               "(it was the first release here, or the version before it was not recorded)")
    raise NothingToRollBack(f"{what} keeps no retired version to roll back to: {why}")
