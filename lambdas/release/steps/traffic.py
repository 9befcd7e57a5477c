"""Shift traffic one step: set each public rule's weights to (new %, old shares of the rest).

At 100 % the old target groups leave the forward action. A rule that no longer matches what the
release read or last wrote was changed by someone else: the step fails closed (RuleDrifted) and
leaves it as it is.
"""
from __future__ import annotations

import time
from typing import Any

from release.adapters import elbv2
from release.errors import RuleDrifted
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


def expected_now(route: dict[str, Any], previous: dict[str, Any]) -> list[dict[str, int]]:
    """What the rule may hold now without anyone else having touched it."""
    candidates = [route["forward"]]
    written = (previous.get("written") or {}).get(route["route"])
    if written:
        candidates.append({arn: int(w) for arn, w in written.items()})
    return candidates


@lambda_step
def handler(event: StepEvent) -> dict[str, Any]:
    plan = event.plan
    previous = event.result("traffic")
    index = previous["index"] + 1 if "index" in previous else 0
    steps = plan.config.release.traffic_steps
    step = steps[index]
    changes, written = [], dict(previous.get("written") or {})
    for route in event.result("live")["routes"]:
        description = elbv2.rule(route["rule"])
        current = elbv2.forward_of(description)
        target = weights_for(route, step.percent)
        if elbv2.normalized(current) == elbv2.normalized(target):
            changes.append({"route": route["route"], "weights": target, "changed": None})
        elif not any(elbv2.normalized(current) == elbv2.normalized(c) for c in expected_now(route, previous)):
            raise RuleDrifted(
                f"public rule of route {route['route']} was changed outside this release: it forwards to {current}, "
                f"not to what the release read or wrote; it is left as it is"
            )
        else:
            elbv2.set_forward(route["rule"], description, target)
            changes.append({"route": route["route"], "before": current, "weights": target, "changed": "weights set"})
        written[route["route"]] = target
    return {
        "index": index,
        "percent": step.percent,
        "hold_seconds": step.hold_seconds,
        "hold_until": time.time() + step.hold_seconds,
        "last": index == len(steps) - 1,
        "rules": changes,
        "written": written,
    }
