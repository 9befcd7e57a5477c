"""Create the new version's ECS service, wired to every target group, and its autoscaling.

For a rollback the retired service exists at zero: it is scaled back up, its recorded
autoscaling restored and its obsolete mark removed.
"""
from __future__ import annotations

from typing import Any

from release import ownership
from release.adapters import autoscaling, ecs, elbv2
from release.errors import ServiceConflict
from release import decisions
from release.intent import CHANGE, CREATE
from release.plan_view import TAG_PREFIX, PlanView as Plan
from release.results import Service
from release.service_spec import configured_autoscaling, create_request
from release.step import StepEvent, lambda_step

OBSOLETE_TAGS = [f"{TAG_PREFIX}obsolete-since", f"{TAG_PREFIX}obsoleted-by"]


def ensure_autoscaling(plan: Plan, wanted: dict[str, Any] | None) -> dict[str, Any]:
    if wanted is None:
        return {"autoscaling": None, "changed": None, "found": "no autoscaling configured"}
    current = autoscaling.snapshot(plan.cluster, plan.ecs_service)
    same = current is not None and current["min"] == wanted["min"] and current["max"] == wanted["max"] and (
        sorted(p["name"] for p in current["policies"]) == sorted(p["name"] for p in wanted["policies"])
    )
    if same:
        return {"autoscaling": {"min": wanted["min"], "max": wanted["max"]}, "changed": None}
    autoscaling.restore(plan.cluster, plan.ecs_service, wanted)
    return {"autoscaling": {"min": wanted["min"], "max": wanted["max"]}, "before": current and {"min": current["min"], "max": current["max"]}, "changed": "registered"}


def revive(plan: Plan, existing: dict[str, Any]) -> dict[str, Any]:
    """Rollback: bring the retired version back to the capacity and autoscaling it had."""
    restore = plan.restore or {}
    desired = int(restore.get("desired_count") or plan.config.service_settings.desired_count)
    return {
        "service": plan.ecs_service, "arn": existing["serviceArn"], "desired_count": desired,
        "changed": wake(plan, existing, desired),
        "autoscaling": ensure_autoscaling(plan, restore.get("autoscaling")),
    }


def wake(plan: Plan, existing: dict[str, Any], desired: int) -> str | None:
    """Scale a retired service back up and take its obsolete mark off, so cleanup spares it."""
    changes = []
    if existing["desiredCount"] != desired:
        ecs.set_desired(plan.cluster, plan.ecs_service, desired)
        changes.append(f"desired count {existing['desiredCount']} -> {desired}")
    tags = ecs.tags_of(existing)
    if any(t in tags for t in OBSOLETE_TAGS):
        ecs.untag(existing["serviceArn"], OBSOLETE_TAGS)
        for arn in ecs.target_group_arns(existing):
            elbv2.remove_tags(arn, OBSOLETE_TAGS)
        changes.append("obsolete mark removed")
    return ", ".join(changes) or None


@lambda_step
def handler(event: StepEvent) -> Service:
    plan = event.plan
    existing = ecs.service(plan.cluster, plan.ecs_service)
    if plan.action == "rollback":
        decisions.refuse_draining(plan, existing)
        if existing is None:
            raise ServiceConflict(f"the retired service {plan.ecs_service} no longer exists; nothing to bring back")
        if not ownership.of_service(plan, ecs.tags_of(existing)):
            raise ServiceConflict(ownership.refusal(plan, "ECS service", plan.ecs_service, ecs.tags_of(existing)))
        return Service(**revive(plan, existing))
    groups = {g["route"]: g["arn"] for g in event.result("target_groups")["target_groups"]}
    intent = decisions.service(plan, existing, groups)
    if intent.action == CREATE:
        request = create_request(plan, event.result("task_definition")["task_definition"], groups)
        created = ecs.create_service(request)
        result = {"service": plan.ecs_service, "arn": created["serviceArn"], "changed": "created",
                  "desired_count": request["desiredCount"]}
    else:
        result = {"service": plan.ecs_service, "arn": existing["serviceArn"], "changed": None, "found": "already exists"}
        if intent.action == CHANGE:
            result["changed"] = wake(plan, existing, intent.after["desired_count"])
    result["autoscaling"] = ensure_autoscaling(plan, configured_autoscaling(plan, groups))
    return Service(**result)
