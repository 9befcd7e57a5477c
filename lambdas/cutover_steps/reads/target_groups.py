"""A version's target groups, found by their planned names, with their tags: what CreateTargetGroups,
LoadRelease's check of taken names and the teardown of a prepared version decide from."""
from __future__ import annotations

from typing import Any

from cutover_steps.adapters import elbv2


def found(name: str) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The target group of that name, if any, and its tags."""
    existing = elbv2.target_group_by_name(name)
    if existing is None:
        return None, {}
    return existing, elbv2.tags_of([existing["TargetGroupArn"]]).get(existing["TargetGroupArn"], {})
