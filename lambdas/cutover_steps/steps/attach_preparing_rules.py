"""Point each route's preparing rule at the new version's target group, for people to check it."""
from __future__ import annotations

from typing import Any

from cutover_steps.adapters import elbv2
from cutover_steps.decisions import descriptions, forward as decisions
from cutover_steps.results import PreparingRules
from cutover_steps.runtime.step import StepEvent, lambda_step


def attach(rule_arn: str, target_group_arn: str) -> dict[str, Any]:
    description = elbv2.rule(rule_arn)
    intent = decisions.preparing_rule(rule_arn, descriptions.forward_of(description), target_group_arn)
    if not intent.acts:
        return {"rule": rule_arn, "before": intent.before, "after": intent.after, "changed": None}
    elbv2.set_forward(rule_arn, description, intent.after)
    return {"rule": rule_arn, "before": intent.before, "after": intent.after, "changed": "forwarded to the new version"}


@lambda_step
def handler(event: StepEvent) -> PreparingRules:
    groups = {g["route"]: g["arn"] for g in event.results.target_groups.target_groups}
    return PreparingRules([
        dict(attach(r.route.preparing_rule_arn, groups[r.route.name]), route=r.route.name)
        for r in event.plan.routes
    ])
