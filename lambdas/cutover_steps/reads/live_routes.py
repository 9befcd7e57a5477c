"""The public rules as they forward now, and the tags of their target groups: what ReadLiveRoutes
decides the old versions from."""
from __future__ import annotations

from typing import Any

from cutover_steps.decisions import descriptions
from cutover_steps.adapters import elbv2
from cutover_steps.plan.view import PlanView as Plan


def public_rules(plan: Plan, new_groups: dict[str, str | None]) -> tuple[list[dict[str, Any]], dict[str, dict[str, str]]]:
    """Each public rule's forward now, and the tags of the target groups it forwards to."""
    rules = []
    for route in plan.routes:
        rule_arn = route.route.public_rule_arn
        forward = descriptions.forward_of(elbv2.rule(rule_arn, f"routes.{route.route.name}.public_rule_arn"))
        rules.append({"route": route.route.name, "rule": rule_arn, "forward": forward, "new": new_groups[route.route.name]})
    return rules, elbv2.tags_of([arn for r in rules for arn in r["forward"]])
