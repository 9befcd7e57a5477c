"""Mark versions obsolete (service and target groups tagged) so that a later release deletes them:
the version a release retired (by the cleanup step, once it has deleted what earlier releases
marked), and the new version of a release that was undone.

Besides the version retired now, the version the release record names as the previous one is
marked too when it sits retired at zero and unmarked: an earlier release whose own marking failed
(a warning, not a failure) is finished this way.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from release import decisions, ownership
from release.adapters import ecs, elbv2
from release.intent import Intent
from release.obsolete_mark import left_unmarked
from release.plan_view import PlanView as Plan


def mark(plan: Plan, ecs_service: str, target_groups: list[str]) -> dict[str, Any]:
    service = ecs.service(plan.cluster, ecs_service)
    return apply_mark(plan, service, decisions.obsolete_mark(plan, ecs_service, service, now()), target_groups)


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def apply_mark(plan: Plan, service: dict[str, Any] | None, intent: Intent, target_groups: list[str]) -> dict[str, Any]:
    """Tag the service and its target groups (`target_groups`, or those it is wired to) as decided."""
    if not intent.acts:
        return {"ecs_service": intent.name, "changed": None, "found": intent.why}
    # Target groups first: cleanup finds versions through their target groups' tags.
    arns = target_groups or ecs.target_group_arns(service)
    group_tags = elbv2.tags_of(arns) if arns else {}
    for arn in arns:
        if ownership.of_service(plan, group_tags.get(arn, {})):
            elbv2.add_tags(arn, intent.after)
    ecs.tag(service["serviceArn"], intent.after)
    return {"ecs_service": intent.name, "changed": "marked obsolete", "tags": intent.after}


def mark_retired(plan: Plan, results: dict[str, Any]) -> list[dict[str, Any]]:
    """Mark the versions this release retired, and one an earlier release retired but left unmarked."""
    retired = (results.get("retire") or {}).get("retired", [])
    olds = {o["ecs_service"]: o for o in (results.get("live") or {}).get("old_services", [])}
    earlier = left_unmarked(plan, {r["ecs_service"] for r in retired})
    marked = [mark(plan, r["ecs_service"], olds.get(r["ecs_service"], {}).get("target_groups", [])) for r in retired]
    return marked + [mark(plan, name, []) for name in earlier]
