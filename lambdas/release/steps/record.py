"""Record what serves now and what a rollback would bring back, in the release table."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from release.adapters import elbv2, records
from release.step import StepEvent, lambda_step, record_seconds


def retired_groups(event: StepEvent, ecs_service: str) -> dict[str, str]:
    """Route -> name of the retired service's target group, as the public rules forwarded to it."""
    live = event.result("live")
    ours = {arn for o in live.get("old_services", []) if o["ecs_service"] == ecs_service for arn in o["target_groups"]}
    return {r["route"]: elbv2.name_of(arn) for r in live.get("routes", []) for arn in r.get("old", []) if arn in ours}


@lambda_step
def handler(event: StepEvent) -> dict[str, Any]:
    plan = event.plan
    record = records.get(plan.record_key) or {}
    current = record.get("current") or {}
    retired = event.result("retire").get("retired", [])
    attributes: dict[str, Any] = {
        "cluster": plan.cluster,
        "current": {
            "version": plan.version, "ecs_service": plan.ecs_service, "release": event.execution_id,
            "target_groups": {r.route.name: r.target_group_name for r in plan.routes},
            "config": plan.config.model_dump(mode="json"),
            "at": datetime.now(timezone.utc).isoformat(),
        },
    }
    if retired:
        old = retired[0]
        remembered = (record.get("retired") or {}).get(old["ecs_service"], {})
        earlier = record.get("previous") or {}
        if current.get("version") == old["version"]:
            known = current
        elif earlier.get("version") == old["version"]:
            known = earlier  # this step ran before and already moved it along
        else:
            known = {"config": plan.config.model_dump(mode="json")}  # not released by Cutover: today's is closest
        attributes["previous"] = {
            "version": old["version"],
            "ecs_service": old["ecs_service"],
            "desired_count": remembered.get("desired_count") or old.get("desired_count_before"),
            "autoscaling": remembered.get("autoscaling"),
            # The names its target groups have (an adopted version's are not Cutover's): a rollback needs them.
            "target_groups": retired_groups(event, old["ecs_service"]) or known.get("target_groups"),
            "config": known.get("config"),
        }
        # What earlier releases retired is no longer needed (a rollback brings back `previous`);
        # keeping only this release's entries stops the item growing with every release.
        kept = {r["ecs_service"] for r in retired}
        attributes["retired"] = {k: v for k, v in (record.get("retired") or {}).items() if k in kept}
    taken_at = event.result("lock").get("taken_at")
    if taken_at:
        record_seconds("ReleaseDurationSeconds", (datetime.now(timezone.utc) - datetime.fromisoformat(taken_at)).total_seconds())
    if current.get("version") == plan.version and current.get("ecs_service") == plan.ecs_service and not retired:
        return {"changed": None, "found": f"record already says {plan.version} serves"}
    records.update(plan.record_key, attributes)
    return {"changed": f"{current.get('version') or 'nothing'} -> {plan.version}", "previous": attributes.get("previous", {}).get("version")}
