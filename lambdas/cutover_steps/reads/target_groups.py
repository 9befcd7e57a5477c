"""A version's target groups, found by their planned names, with their tags: what CreateTargetGroups,
LoadRelease's check of taken names and the teardown of a prepared version decide from."""
from __future__ import annotations

from typing import Any

from cutover_steps.adapters import elbv2
from cutover_steps.plan.view import PlanView as Plan


def found(name: str) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The target group of that name, if any, and its tags."""
    existing = elbv2.target_group_by_name(name)
    if existing is None:
        return None, {}
    return existing, elbv2.tags_of([existing["TargetGroupArn"]]).get(existing["TargetGroupArn"], {})


def tags_by_name(plan: Plan) -> dict[str, dict[str, str] | None]:
    """Each target group name the plan would use: the tags of the group that holds it, None when none does."""
    found_tags = {}
    for route in plan.routes:
        group, tags = found(route.target_group_name)
        found_tags[route.target_group_name] = tags if group is not None else None
    return found_tags
