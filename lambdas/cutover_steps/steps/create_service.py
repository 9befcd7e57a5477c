"""Create the new version's ECS service, wired to every target group, and its autoscaling.

For a rollback the retired service exists at zero: it is scaled back up, its recorded
autoscaling restored and its obsolete mark removed.
"""
from __future__ import annotations

from typing import Any

from cutover_steps.decisions import descriptions, ownership
from cutover_steps.adapters import autoscaling, ecs, elbv2
from cutover_steps.errors import ServiceConflict
from cutover_steps.decisions import forward as decisions
from cutover_steps.decisions.intent import CHANGE, Intent
from cutover_steps.plan.view import TAG_PREFIX, PlanView as Plan
from cutover_steps.results import Service
from cutover_steps.plan.service_spec import configured_autoscaling, create_request
from cutover_steps.runtime.step import StepEvent, lambda_step

OBSOLETE_TAGS = [f"{TAG_PREFIX}obsolete-since", f"{TAG_PREFIX}obsoleted-by"]


def ensure_autoscaling(plan: Plan, wanted: dict[str, Any] | None, created_now: bool = False,
                       recorded: bool = False) -> dict[str, Any]:
    """Read the service's scalable target (a service created now has none: nothing to read), decide, apply.
    `recorded`: `wanted` is what the record remembered at retirement (a rollback), not the config."""
    current = None if wanted is None or created_now else autoscaling.snapshot(plan.cluster, plan.ecs_service)
    # A retired target still there (parked) kept its own policies and scheduled actions: only its
    # bounds and suspension go back, so each policy keeps its ARN (which a step-scaling alarm names).
    policies = not (recorded and current is not None)
    return apply_autoscaling(plan, wanted, decisions.scalable_target(plan, wanted, current), policies)


def apply_autoscaling(plan: Plan, wanted: dict[str, Any] | None, intent: Intent | None,
                      policies: bool = True) -> dict[str, Any]:
    if intent is None:
        return {"autoscaling": None, "changed": None, "found": "no autoscaling configured"}
    bounds = {"min": wanted["min"], "max": wanted["max"]}
    if not intent.acts:
        return {"autoscaling": bounds, "changed": None}
    # RegisterScalableTarget and PutScalingPolicy replace what they find.
    autoscaling.restore(plan.cluster, plan.ecs_service, wanted, policies=policies)
    before = intent.before and {"min": intent.before["min"], "max": intent.before["max"]}
    return {"autoscaling": bounds, "before": before, "changed": "registered"}


def revive(plan: Plan, existing: dict[str, Any]) -> dict[str, Any]:
    """Rollback: bring the retired version back to the capacity and autoscaling it had."""
    restore = plan.restore or {}
    desired = int(restore.get("desired_count") or plan.config.service_settings.desired_count)
    return {
        "service": plan.ecs_service, "arn": existing["serviceArn"], "desired_count": desired,
        "changed": wake(plan, existing, desired),
        "autoscaling": ensure_autoscaling(plan, restore.get("autoscaling"), recorded=True),
    }


def wake(plan: Plan, existing: dict[str, Any], desired: int) -> str | None:
    """Scale a retired service back up and take its obsolete mark off, so cleanup spares it."""
    changes = []
    if existing["desiredCount"] != desired:
        ecs.set_desired(plan.cluster, plan.ecs_service, desired)
        changes.append(f"desired count {existing['desiredCount']} -> {desired}")
    tags = descriptions.tags_of(existing)
    if any(t in tags for t in OBSOLETE_TAGS):
        ecs.untag(existing["serviceArn"], OBSOLETE_TAGS)
        for arn in descriptions.target_group_arns(existing):
            elbv2.remove_tags(arn, OBSOLETE_TAGS)
        changes.append("obsolete mark removed")
    return ", ".join(changes) or None


@lambda_step
def handler(event: StepEvent) -> Service:
    plan = event.plan
    if plan.action == "rollback":
        existing = ecs.service(plan.cluster, plan.ecs_service)
        decisions.refuse_draining(plan, existing)
        if existing is None:
            raise ServiceConflict(f"the retired service {plan.ecs_service} no longer exists; nothing to bring back")
        if not ownership.of_service(plan, descriptions.tags_of(existing)):
            raise ServiceConflict(ownership.refusal(plan, "ECS service", plan.ecs_service, descriptions.tags_of(existing)))
        return Service(**revive(plan, existing))
    groups = {g["route"]: g["arn"] for g in event.results.target_groups.target_groups}
    request = create_request(plan, event.results.task_definition.task_definition, groups)
    # Create first: the usual path is one call. The clientToken gets a re-run back what an earlier
    # attempt made; that, or a name held otherwise, is read and decided on as before.
    found, created = ecs.create_service(request)
    result: dict[str, Any] = {"service": plan.ecs_service, "arn": found["serviceArn"], "changed": None}
    if created:
        result.update(changed="created", desired_count=request["desiredCount"])
    else:
        intent = decisions.service(plan, found, groups)
        result["found"] = "already exists"
        if intent.action == CHANGE:
            result["changed"] = wake(plan, found, intent.after["desired_count"])
    result["autoscaling"] = ensure_autoscaling(plan, configured_autoscaling(plan, groups), created_now=created)
    return Service(**result)
