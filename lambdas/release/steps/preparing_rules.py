"""Point each route's preparing rule at the new version's target group, for people to check it."""
from __future__ import annotations

from typing import Any

from release.adapters import elbv2
from release.results import PreparingRules
from release.step import StepEvent, lambda_step


def attach(rule_arn: str, target_group_arn: str) -> dict[str, Any]:
    description = elbv2.rule(rule_arn)
    before = elbv2.forward_of(description)
    after = {target_group_arn: 1}
    if list(before) == [target_group_arn]:
        return {"rule": rule_arn, "before": before, "after": before, "changed": None}
    elbv2.set_forward(rule_arn, description, after)
    return {"rule": rule_arn, "before": before, "after": after, "changed": "forwarded to the new version"}


@lambda_step
def handler(event: StepEvent) -> PreparingRules:
    groups = {g["route"]: g["arn"] for g in event.result("target_groups")["target_groups"]}
    return PreparingRules([
        dict(attach(r.route.preparing_rule_arn, groups[r.route.name]), route=r.route.name)
        for r in event.plan.routes
    ])
