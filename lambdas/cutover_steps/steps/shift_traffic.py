"""Shift traffic one step: set each public rule's weights to (new %, old shares of the rest).

At 100 % the old target groups leave the forward action; the last step's hold is followed by the
bake (`release.bake_seconds`): the old version stays warm while alarms are watched, so that an
alarm switches back at once. Once the release has written a rule, the only state it accepts there
is the one it wrote (before that, the one it read): anything else was changed by someone else, and
the step is refused (RuleDrifted), leaving every rule as it is. The weights and that check are
decided in `cutover_steps.decisions.traffic`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from cutover_steps.adapters import elbv2
from cutover_steps.decisions import descriptions, traffic as traffic_decisions
from cutover_steps.decisions.intent import Intent
from cutover_steps.errors import RuleDrifted
from cutover_steps.plan.naming import target_group_name_of
from cutover_steps.results import Traffic
from cutover_steps.runtime.protocol import StepProtocol
from cutover_steps.runtime.step import StepEvent

# Route name -> its public rule's description as read (apply keeps the rule's other actions).
Found = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Decided:
    index: int
    percent: int
    hold_seconds: int
    bake_seconds: int
    last: bool
    # The live routes in order, each as decided on: `new` is the planned target group name when the
    # group has no ARN yet (`cutover plan`, before CreateTargetGroups has run).
    routes: list[dict[str, Any]]
    # Route name -> its weight change by target group ARN (what apply writes); a drifted route has none.
    by_route: dict[str, Intent]
    descriptions: Found
    # Route name -> the weights the release will have left on its rule after this step.
    written: dict[str, dict[str, int]]
    refusal: RuleDrifted | None

    @property
    def intents(self) -> list[Intent]:
        """The weight changes by target group name, as the plan shows them (a group not created yet
        has no ARN, only its name)."""
        return [named(intent) for intent in self.by_route.values()]


def named(intent: Intent) -> Intent:
    def names(weights: dict[str, int] | None) -> dict[str, int] | None:
        return None if weights is None else {target_group_name_of(key): weight for key, weight in weights.items()}
    return Intent(intent.action, intent.resource, intent.name, before=names(intent.before), after=names(intent.after),
                  why=intent.why)


def read(event: StepEvent) -> Found:
    """Each public rule as it is now."""
    return {route["route"]: elbv2.rule(route["rule"]) for route in event.results.live.routes}


def decide(event: StepEvent, found: Found) -> Decided:
    plan = event.plan
    previous = event.results.traffic
    index = previous.index + 1 if "traffic" in event.results else 0
    steps = plan.config.release.traffic_steps
    step = steps[index]
    planned = {r.route.name: r.target_group_name for r in plan.routes}
    routes = [{**route, "new": route["new"] or planned[route["route"]]} for route in event.results.live.routes]
    by_route, written, refusal = {}, dict(previous.written or {}), None
    # Every rule is decided before any is written: a drifted route must not leave the others half-moved.
    for route in routes:
        current = descriptions.forward_of(found[route["route"]])
        if previous.planned and previous.written.get(route["route"]):
            # Planned, not applied: the rule holds what the step before would have written.
            current = {key: int(weight) for key, weight in previous.written[route["route"]].items()}
        try:
            intent = traffic_decisions.weight_change(route, current, step.percent, previous.to_json())
        except RuleDrifted as drifted:
            refusal = refusal or drifted
            continue
        by_route[route["route"]] = intent
        written[route["route"]] = intent.after
    last = index == len(steps) - 1
    return Decided(index=index, percent=step.percent, hold_seconds=step.hold_seconds,
                   bake_seconds=plan.config.release.bake_seconds if last else 0, last=last, routes=routes,
                   by_route=by_route, descriptions=found, written=written, refusal=refusal)


def change(route: dict[str, Any], intent: Intent) -> dict[str, Any]:
    if intent.acts:
        return {"route": route["route"], "before": intent.before, "weights": intent.after, "changed": "weights set"}
    return {"route": route["route"], "weights": intent.after, "changed": None}


def result(decided: Decided, hold_until: float, planned: bool | None = None) -> Traffic:
    return Traffic(
        index=decided.index,
        percent=decided.percent,
        hold_seconds=decided.hold_seconds,
        bake_seconds=decided.bake_seconds,
        hold_until=hold_until,
        last=decided.last,
        rules=[change(route, decided.by_route[route["route"]]) for route in decided.routes if route["route"] in decided.by_route],
        written=dict(decided.written),
        planned=planned,
    )


def apply(event: StepEvent, decided: Decided) -> Traffic:
    for route in decided.routes:
        intent = decided.by_route[route["route"]]
        if intent.acts:
            elbv2.set_forward(route["rule"], decided.descriptions[route["route"]], intent.after)
    # The hold runs from the moment the weights are set.
    return result(decided, time.time() + decided.hold_seconds + decided.bake_seconds)


def expect(event: StepEvent, decided: Decided) -> Traffic:
    # When the hold would end is known only once the step runs.
    return result(decided, 0.0, planned=True)


STEP = StepProtocol(read, decide, apply, expect,
                    runs=lambda event: len(event.plan.config.release.traffic_steps))
handler = STEP.handler()
