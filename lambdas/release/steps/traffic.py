"""Shift traffic one step: set each public rule's weights to (new %, old shares of the rest).

At 100 % the old target groups leave the forward action; the last step's hold is followed by the
bake (`release.bake_seconds`): the old version stays warm while alarms are watched, so that an
alarm switches back at once. Once the release has written a rule, the only state it accepts there
is the one it wrote (before that, the one it read): anything else was changed by someone else, and
the step fails closed (RuleDrifted), leaving every rule as it is.
"""
from __future__ import annotations

import time
from typing import Any

from release.adapters import elbv2
from release.errors import RuleDrifted
from release.results import Traffic
from release.step import StepEvent, lambda_step


def weights_for(route: dict[str, Any], percent: int) -> dict[str, int]:
    """Spread the old share over the old target groups in proportion to what they had."""
    if percent >= 100 or not route["old"]:
        return {route["new"]: 1}
    # A group at weight 0 still counts as 1, so every old group keeps a share until the last step.
    shares = {arn: max(1, int(route["forward"][arn])) for arn in route["old"]}
    total = sum(shares.values())
    weights = {route["new"]: percent * 10}  # weights go to 999; tenths of a percent keep the split exact
    for arn, share in shares.items():
        weights[arn] = max(1, round((100 - percent) * 10 * share / total))
    return weights


def expected_now(route: dict[str, Any], previous: dict[str, Any]) -> dict[str, int]:
    """What the rule may hold now without anyone else having touched it: what this release last
    wrote there, or, before its first write, what it read. Anything else is someone else's change."""
    written = (previous.get("written") or {}).get(route["route"])
    return {arn: int(w) for arn, w in written.items()} if written else route["forward"]


def drifted(route: dict[str, Any], current: dict[str, int], previous: dict[str, Any]) -> RuleDrifted:
    return RuleDrifted(
        f"public rule of route {route['route']} was changed outside this release: it forwards to {current}, "
        f"not to what the release {'last wrote' if (previous.get('written') or {}).get(route['route']) else 'read'} "
        f"({expected_now(route, previous)}); it is left as it is"
    )


@lambda_step
def handler(event: StepEvent) -> Traffic:
    plan = event.plan
    previous = event.result("traffic")
    index = previous["index"] + 1 if "index" in previous else 0
    steps = plan.config.release.traffic_steps
    step = steps[index]
    changes, written = [], dict(previous.get("written") or {})
    # Every rule is checked before any is written: a drifted route must not leave the others half-moved.
    routes = []
    for route in event.result("live")["routes"]:
        description = elbv2.rule(route["rule"])
        current = elbv2.forward_of(description)
        target = weights_for(route, step.percent)
        done = elbv2.normalized(current) == elbv2.normalized(target)
        if not done and elbv2.normalized(current) != elbv2.normalized(expected_now(route, previous)):
            raise drifted(route, current, previous)
        routes.append((route, description, current, target, done))
    for route, description, current, target, done in routes:
        if done:
            changes.append({"route": route["route"], "weights": target, "changed": None})
        else:
            elbv2.set_forward(route["rule"], description, target)
            changes.append({"route": route["route"], "before": current, "weights": target, "changed": "weights set"})
        written[route["route"]] = target
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
