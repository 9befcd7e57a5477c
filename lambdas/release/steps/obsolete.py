"""Mark versions obsolete (service and target groups tagged) so that a later release deletes them."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from release import ownership
from release.adapters import ecs, elbv2
from release.plan import TAG_PREFIX, Plan
from release.step import StepEvent, lambda_step

SINCE = f"{TAG_PREFIX}obsolete-since"
BY = f"{TAG_PREFIX}obsoleted-by"


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


@lambda_step
def handler(event: StepEvent) -> dict[str, Any]:
    plan = event.plan
    retired = [r for r in event.result("retire").get("retired", [])]
    olds = {o["ecs_service"]: o for o in event.result("live").get("old_services", [])}
    if not retired:
        return {"marked": [], "found": "nothing was retired"}
    return {"marked": [mark(plan, r["ecs_service"], olds.get(r["ecs_service"], {}).get("target_groups", [])) for r in retired]}
