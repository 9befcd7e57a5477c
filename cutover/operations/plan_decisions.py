"""The plan's decisions as people and scripts read them: rules by route, target groups and revisions by
name, where the steps' own decisions carry ARNs, content digests and target groups not created yet."""
from __future__ import annotations

from typing import Any

from cutover_steps.adapters.elbv2 import name_of
from cutover_steps.decisions.intent import Intent
from cutover_steps.plan.models import Plan


def shown(plan: Plan, intents: list[Intent]) -> list[dict[str, Any]]:
    """Each decision with `name`, `before` and `after` in names, and the ARN of what it acts on in `arn`
    (null where the resource has none yet, or is no AWS resource of its own)."""
    return [_shown(plan, intent) for intent in intents]


def _shown(plan: Plan, intent: Intent) -> dict[str, Any]:
    decision = {**intent.as_dict(), "arn": None}
    if intent.resource == "preparing rule":
        # The step decides on the rule's ARN, the target groups' ARNs, and no ARN (None) for a group
        # the plan would create: the route, the groups' names and the planned name say the same.
        route = next(r for r in plan.routes if r.route.preparing_rule_arn == intent.name)
        forward = {key: {(name_of(arn) if arn else route.target_group_name): weight for arn, weight in value.items()}
                   for key, value in (("before", intent.before), ("after", intent.after)) if value is not None}
        decision.update(name=route.route.name, arn=intent.name, **forward)
    elif intent.resource == "public rule":
        route = next(r for r in plan.routes if r.route.name == intent.name)
        decision["arn"] = route.route.public_rule_arn
    elif intent.resource == "target group" and intent.action != "create":
        decision.update(arn=intent.after, before=name_of(intent.before), after=name_of(intent.after))
    elif intent.resource == "task definition":
        # A revision by family:revision; a new one by what it runs (its content digest says nothing to people).
        revision = _revision(intent.before)
        after = _revision(intent.after) if intent.action == "keep" else f"a new revision of {intent.name} with image {plan.image}"
        decision.update(arn=intent.after if intent.action == "keep" else None, before=revision, after=after)
    return {key: decision[key] for key in ("action", "resource", "name", "arn", "before", "after", "why")}


def _revision(arn: str | None) -> str | None:
    return arn and arn.rsplit("/", 1)[-1]


def undo_shown(plan: Plan, intents: list[Intent]) -> list[dict[str, Any]]:
    """An undo's decisions with every ARN in names: a rule by its route (and kind), a target group or a
    service by its name."""
    rules = {r.route.preparing_rule_arn: f"{r.route.name} (preparing)" for r in plan.routes}
    rules |= {r.route.public_rule_arn: f"{r.route.name} (public)" for r in plan.routes}

    def readable(value: Any) -> Any:
        if isinstance(value, dict):
            return {readable(k): readable(v) for k, v in value.items()}
        if isinstance(value, list):
            return [readable(v) for v in value]
        if isinstance(value, str) and value in rules:
            return rules[value]
        if isinstance(value, str) and value.startswith("arn:"):
            return name_of(value) if ":targetgroup/" in value else value.rsplit("/", 1)[-1]
        return value

    return [{key: readable(value) for key, value in intent.as_dict().items()} for intent in intents]
