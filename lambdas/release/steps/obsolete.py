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

from release import ownership
from release.adapters import ecs, elbv2, records
from release.obsolete_mark import BY, SINCE
from release.plan_view import PlanView as Plan


def mark(plan: Plan, ecs_service: str, target_groups: list[str]) -> dict[str, Any]:
    service = ecs.service(plan.cluster, ecs_service)
    if service is None:
        return {"ecs_service": ecs_service, "changed": None, "found": "service no longer exists"}
    tags = ecs.tags_of(service)
    if not ownership.of_service(plan, tags):
        return ownership.left_alone("ecs_service", ecs_service, tags)
    if SINCE in tags:
        return {"ecs_service": ecs_service, "changed": None, "found": f"already obsolete since {tags[SINCE]}"}
    marks = {SINCE: datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), BY: f"{plan.env}/{plan.version}"}
    # Target groups first: cleanup finds versions through their target groups' tags.
    arns = target_groups or ecs.target_group_arns(service)
    group_tags = elbv2.tags_of(arns) if arns else {}
    for arn in arns:
        if ownership.of_service(plan, group_tags.get(arn, {})):
            elbv2.add_tags(arn, marks)
    ecs.tag(service["serviceArn"], marks)
    return {"ecs_service": ecs_service, "changed": "marked obsolete", "tags": marks}


def left_unmarked(plan: Plan, retired_now: set[str]) -> list[str]:
    """The record's previous version, when an earlier release retired it but could not mark it."""
    previous = ((records.get(plan.record_key) or {}).get("previous") or {}).get("ecs_service")
    if not previous or previous == plan.ecs_service or previous in retired_now:
        return []
    service = ecs.service(plan.cluster, previous)
    if service is None or service["desiredCount"] > 0 or SINCE in ecs.tags_of(service):
        return []
    return [previous]


def mark_retired(plan: Plan, results: dict[str, Any]) -> list[dict[str, Any]]:
    """Mark the versions this release retired, and one an earlier release retired but left unmarked."""
    retired = (results.get("retire") or {}).get("retired", [])
    olds = {o["ecs_service"]: o for o in (results.get("live") or {}).get("old_services", [])}
    earlier = left_unmarked(plan, {r["ecs_service"] for r in retired})
    marked = [mark(plan, r["ecs_service"], olds.get(r["ecs_service"], {}).get("target_groups", [])) for r in retired]
    return marked + [mark(plan, name, []) for name in earlier]
