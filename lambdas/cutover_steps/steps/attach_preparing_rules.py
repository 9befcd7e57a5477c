"""Point each route's preparing rule at the new version's target group, for people to check it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cutover_steps.adapters import elbv2
from cutover_steps.decisions import descriptions, forward as decisions
from cutover_steps.decisions.intent import Intent
from cutover_steps.results import PreparingRules
from cutover_steps.runtime.protocol import StepProtocol
from cutover_steps.runtime.step import StepEvent

# Route name -> its preparing rule's description.
Found = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Decided:
    by_route: dict[str, Intent]
    # The rules as read: ModifyRule replaces the whole action list, so apply keeps their other actions.
    found: Found
    refusal: None = None

    @property
    def intents(self) -> list[Intent]:
        return list(self.by_route.values())


def read(event: StepEvent) -> Found:
    return {r.route.name: elbv2.rule(r.route.preparing_rule_arn, f"routes.{r.route.name}.preparing_rule_arn")
            for r in event.plan.routes}


def decide(event: StepEvent, found: Found) -> Decided:
    # A group not created yet (a plan) has no ARN: the rule is to change, to a group AWS names later.
    groups = {g["route"]: g["arn"] for g in event.results.target_groups.target_groups}
    return Decided({r.route.name: decisions.preparing_rule(r.route.preparing_rule_arn,
                                                           descriptions.forward_of(found[r.route.name]),
                                                           groups.get(r.route.name))
                    for r in event.plan.routes}, found)


def outcome(route: str, intent: Intent) -> dict[str, Any]:
    return {"rule": intent.name, "before": intent.before, "after": intent.after,
            "changed": "forwarded to the new version" if intent.acts else None, "route": route}


def apply(event: StepEvent, decided: Decided) -> PreparingRules:
    for route, intent in decided.by_route.items():
        if intent.acts:
            elbv2.set_forward(intent.name, decided.found[route], intent.after)
    return expect(event, decided)


def expect(event: StepEvent, decided: Decided) -> PreparingRules:
    return PreparingRules([outcome(route, intent) for route, intent in decided.by_route.items()])


STEP = StepProtocol(read, decide, apply, expect)
handler = STEP.handler()
