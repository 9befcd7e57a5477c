"""Shift traffic one step: set each public rule's weights to (new %, old shares of the rest).

At 100 % the old target groups leave the forward action; the last step's hold is followed by the
bake (`release.bake_seconds`): the old version stays warm while alarms are watched, so that an
alarm switches back at once. Once the release has written a rule, the only state it accepts there
is the one it wrote (before that, the one it read): anything else was changed by someone else, and
the step fails closed (RuleDrifted), leaving every rule as it is. The weights and that check are
decided in `cutover_steps.decisions.traffic`, which `cutover plan` runs too.
"""
from __future__ import annotations

import time

from cutover_steps.decisions import descriptions, traffic as traffic_decisions
from cutover_steps.adapters import elbv2
from cutover_steps.results import Traffic
from cutover_steps.runtime.step import StepEvent, lambda_step


@lambda_step
def handler(event: StepEvent) -> Traffic:
    plan = event.plan
    previous = event.results.traffic
    index = previous.index + 1 if "traffic" in event.results else 0
    steps = plan.config.release.traffic_steps
    step = steps[index]
    changes, written = [], dict(previous.written or {})
    # Every rule is decided before any is written: a drifted route must not leave the others half-moved.
    decided = []
    for route in event.results.live.routes:
        description = elbv2.rule(route["rule"])
        decided.append((route, description, traffic_decisions.weight_change(
            route, descriptions.forward_of(description), step.percent, previous.to_json())))
    for route, description, intent in decided:
        if intent.acts:
            elbv2.set_forward(route["rule"], description, intent.after)
            changes.append({"route": route["route"], "before": intent.before, "weights": intent.after, "changed": "weights set"})
        else:
            changes.append({"route": route["route"], "weights": intent.after, "changed": None})
        written[route["route"]] = intent.after
    last = index == len(steps) - 1
    bake = plan.config.release.bake_seconds if last else 0
    return Traffic(
        index=index,
        percent=step.percent,
        hold_seconds=step.hold_seconds,
        bake_seconds=bake,
        hold_until=time.time() + step.hold_seconds + bake,
        last=last,
        rules=changes,
        written=written,
    )
