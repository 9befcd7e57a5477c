"""Healthy targets of a version's target groups against the count each needs, looked at again and
again inside one invocation: what CheckHealth, SizeForTraffic and the undo of stopped releases wait for.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from cutover_steps.adapters import elbv2
from cutover_steps.plan.view import PlanView as Plan
from cutover_steps.runtime import polling
from cutover_steps.runtime.earlier_results import EarlierResults

# A look is one DescribeTargetHealth per target group: no sleep starts that would leave the function less than this.
LOOK_MARGIN_SECONDS = 30


def count(target_group_arn: str, name: str, required: int) -> dict[str, Any]:
    healthy, registered = elbv2.healthy_count(target_group_arn)
    return {"target_group": name, "healthy": healthy, "registered": registered, "required": required}


def ready(counts: list[dict[str, Any]]) -> bool:
    return all(c["healthy"] >= c["required"] for c in counts)


def detail(counts: list[dict[str, Any]]) -> str:
    return ", ".join(f"{c['target_group']} {c['healthy']}/{c['required']} healthy" for c in counts)


def poll(event: Any, look: Callable[[dict[str, Any]], dict[str, Any]], previous: dict[str, Any]) -> dict[str, Any]:
    """Look, then again after each poll interval, until healthy (or timed out), or until the
    function's time is nearly up; the last look's result."""
    while True:
        result = look(previous)
        if result["healthy"] or result.get("timed_out") or not polling.pause(
                event.plan.config.release.poll_interval_seconds, event.context, LOOK_MARGIN_SECONDS):
            return result
        previous = result


def old_version_health(plan: Plan, results: EarlierResults | dict[str, Any], old_services: list[dict[str, Any]],
                       previous: dict[str, Any]) -> dict[str, Any]:
    """Each old target group against the required count, capped by its service's restored count."""
    started = previous.get("started_at") or time.time()
    required = plan.config.required_healthy
    owners = {arn: service for service in old_services
              for arn in service.get("target_groups", []) if "desired_count" in service}
    counts = []
    for route in EarlierResults.of(results).live.routes:
        for arn in route["old"]:
            owner = owners.get(arn)
            # A group of a service the release did not make: any healthy target will do.
            needed = min(required, owner["desired_count"]) if owner else 1
            counts.append(count(arn, elbv2.name_of(arn), max(1, needed)))
    elapsed = time.time() - started
    timeout = plan.config.release.health_timeout_seconds
    result = {"healthy": ready(counts), "timed_out": not ready(counts) and elapsed >= timeout, "counts": counts,
              "started_at": started, "checks": previous.get("checks", 0) + 1, "elapsed_seconds": int(elapsed)}
    if result["timed_out"]:
        result["summary"] = (f"the old version was not healthy after {int(elapsed)} s (timeout {timeout} s): "
                             f"{detail(counts) or 'no old target groups'}")
    return result
