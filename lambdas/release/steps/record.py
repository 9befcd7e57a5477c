"""Record what serves now and what a rollback would bring back, in the release table."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from release.adapters import elbv2, records
from release.plan_view import PlanView as Plan
from release.results import Recorded
from release.step import StepEvent, lambda_step, record_seconds


def retired_groups(event: StepEvent, ecs_service: str) -> dict[str, str]:
    """Route -> name of the retired service's target group, as the public rules forwarded to it."""
    live = event.result("live")
    ours = {arn for o in live.get("old_services", []) if o["ecs_service"] == ecs_service for arn in o["target_groups"]}
    return {r["route"]: elbv2.name_of(arn) for r in live.get("routes", []) for arn in r.get("old", []) if arn in ours}


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
    """The version a rollback brings back: the retired one, with its count, autoscaling and config."""
    remembered = (record.get("retired") or {}).get(old["ecs_service"], {})
    current, earlier = record.get("current") or {}, record.get("previous") or {}
    if current.get("version") == old["version"]:
        known = current
    elif earlier.get("version") == old["version"]:
        known = earlier  # this step ran before and already moved it along
    else:
        known = {"config": event.plan.config.model_dump(mode="json")}  # not released by Cutover: today's is closest
    return {
        "version": old["version"],
        "ecs_service": old["ecs_service"],
        "desired_count": remembered.get("desired_count") or old.get("desired_count_before"),
        "autoscaling": remembered.get("autoscaling"),
        # The names its target groups have (an adopted version's are not Cutover's): a rollback needs them.
        "target_groups": retired_groups(event, old["ecs_service"]) or known.get("target_groups"),
        "config": known.get("config"),
    }


def kept_versions(plan: Plan, record: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    """Every retired version cleanup keeps, by version, with what `cutover rollback --to` restores:
    the newest `retired_versions_to_keep` of them, as cleanup keeps them; never the one serving."""
    kept = dict(record.get("kept") or {})
    if previous and previous["version"] not in kept:
        kept[previous["version"]] = {**previous, "retired_at": datetime.now(timezone.utc).isoformat()}
    kept.pop(plan.version, None)
    newest = sorted(kept.items(), key=lambda item: item[1].get("retired_at", ""), reverse=True)
    return dict(newest[: plan.config.release.retired_versions_to_keep])


@lambda_step
def handler(event: StepEvent) -> Recorded:
    plan = event.plan
    record = records.get(plan.record_key) or {}
    current = record.get("current") or {}
    retired = retired_by_this_release(event, record)
    attributes: dict[str, Any] = {"cluster": plan.cluster}
    if retired:
        attributes["previous"] = previous_of(event, record, retired[0])
        # What earlier releases retired is no longer needed (a rollback brings back `previous`);
        # keeping only this release's entries stops the item growing with every release.
        kept = {r["ecs_service"] for r in retired}
        attributes["retired"] = {k: v for k, v in (record.get("retired") or {}).items() if k in kept}
    taken_at = event.result("lock").get("taken_at")
    if taken_at:
        record_seconds("ReleaseDurationSeconds", (datetime.now(timezone.utc) - datetime.fromisoformat(taken_at)).total_seconds())
    attributes["kept"] = kept_versions(plan, record, attributes.get("previous"))
    serves = current.get("version") == plan.version and current.get("ecs_service") == plan.ecs_service
    if serves and all(record.get(name) == value for name, value in attributes.items()):
        return Recorded(changed=None, found=f"record already says {plan.version} serves",
                        previous=(record.get("previous") or {}).get("version"))
    attributes["current"] = {
        "version": plan.version, "ecs_service": plan.ecs_service, "release": event.execution_id,
        "target_groups": {r.route.name: r.target_group_name for r in plan.routes},
        "config": plan.config.model_dump(mode="json"),
        "at": datetime.now(timezone.utc).isoformat(),
    }
    records.update(plan.record_key, attributes)
    return Recorded(changed=f"{current.get('version') or 'nothing'} -> {plan.version}", previous=attributes.get("previous", {}).get("version"))
