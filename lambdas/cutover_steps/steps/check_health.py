"""Count healthy targets in each of the new version's target groups against the required count.

The step polls inside its invocation, every `poll_interval_seconds`, until `healthy`; past the
timeout it raises HealthTimeout. Shortly before its function's time limit it returns not healthy
yet, and the state machine runs it again: each run carries the first check's time forward.

Phase `old_health` checks the old version's target groups during a rollback instead: the public
rules move back only once it is healthy. Past the timeout it reports `timed_out` rather than
failing, so that the state machine leaves the rules where they are and says why.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from cutover_steps.runtime import polling
from cutover_steps.adapters import elbv2
from cutover_steps.errors import HealthTimeout
from cutover_steps.plan.view import PlanView as Plan
from cutover_steps.results import Health
from cutover_steps.runtime.step import StepEvent, lambda_step, record_seconds


# A look is one DescribeTargetHealth per route: no sleep starts that would leave the function less than this.
LOOK_MARGIN_SECONDS = 30


def poll(event: StepEvent, look: Callable[[dict[str, Any]], dict[str, Any]], previous: dict[str, Any]) -> dict[str, Any]:
    """Look, then again after each poll interval, until healthy (or timed out), or until the
    function's time is nearly up; the last look's result."""
    while True:
        result = look(previous)
        if result["healthy"] or result.get("timed_out") or not polling.pause(
                event.plan.config.release.poll_interval_seconds, event.context, LOOK_MARGIN_SECONDS):
            return result
        previous = result


def check(event: StepEvent, phase: str, previous: dict[str, Any]) -> dict[str, Any]:
    plan = event.plan
    started = previous.get("started_at") or time.time()
    required = plan.config.required_healthy
    groups = event.result("target_groups")["target_groups"]
    counts = []
    for group in groups:
        healthy, registered = elbv2.healthy_count(group["arn"])
        counts.append({"target_group": group["name"], "healthy": healthy, "registered": registered, "required": required})
    ready = all(c["healthy"] >= required for c in counts)
    elapsed = time.time() - started
    timeout = plan.config.release.health_timeout_seconds
    if not ready and elapsed >= timeout:
        detail = ", ".join(f"{c['target_group']} {c['healthy']}/{c['required']} healthy" for c in counts)
        raise HealthTimeout(f"the new version was not healthy after {int(elapsed)} s (timeout {timeout} s): {detail}")
    result = {
        "healthy": ready, "counts": counts, "started_at": started, "checks": previous.get("checks", 0) + 1,
        "elapsed_seconds": int(elapsed),
    }
    if ready:
        result["healthy_at"] = time.time()
        if phase == "health":
            record_seconds("HealthWaitSeconds", elapsed)
        elif event.result("health").get("healthy_at") and "approval" in event.results:
            # Re-checking starts right after the decision: the approval wait is the gap before it.
            record_seconds("ApprovalWaitSeconds", started - event.result("health")["healthy_at"])
    return result


def old_version_health(plan: Plan, results: dict[str, Any], old_services: list[dict[str, Any]],
                       previous: dict[str, Any]) -> dict[str, Any]:
    """Each old target group against the required count, capped by its service's restored count."""
    started = previous.get("started_at") or time.time()
    required = plan.config.required_healthy
    owners = {arn: service for service in old_services
              for arn in service.get("target_groups", []) if "desired_count" in service}
    counts = []
    for route in (results.get("live") or {}).get("routes", []):
        for arn in route["old"]:
            owner = owners.get(arn)
            # A group of a service the release did not make: any healthy target will do.
            needed = min(required, owner["desired_count"]) if owner else 1
            healthy, registered = elbv2.healthy_count(arn)
            counts.append({"target_group": elbv2.name_of(arn), "healthy": healthy,
                           "registered": registered, "required": max(1, needed)})
    ready = all(c["healthy"] >= c["required"] for c in counts)
    elapsed = time.time() - started
    timeout = plan.config.release.health_timeout_seconds
    detail = ", ".join(f"{c['target_group']} {c['healthy']}/{c['required']} healthy" for c in counts) or "no old target groups"
    result = {"healthy": ready, "timed_out": not ready and elapsed >= timeout, "counts": counts, "started_at": started,
              "checks": previous.get("checks", 0) + 1, "elapsed_seconds": int(elapsed)}
    if result["timed_out"]:
        result["summary"] = f"the old version was not healthy after {int(elapsed)} s (timeout {timeout} s): {detail}"
    return result


@lambda_step
def handler(event: StepEvent) -> Health:
    phase = event.raw.get("phase", "health")
    if phase == "old_health":
        old_services = (event.raw.get("rollback") or {}).get("old_services", [])
        return Health(**poll(event, lambda previous: old_version_health(event.plan, event.results, old_services, previous),
                             event.result("old_health")))
    return Health(**poll(event, lambda previous: check(event, phase, previous), event.result(phase)))
