"""Count healthy targets in each of the new version's target groups against the required count.

The state machine loops (Wait, then check again) until `healthy`; past the timeout this step
raises HealthTimeout. Each check carries the first check's time forward from the previous result.

Phase `old_health` checks the old version's target groups during a rollback instead: the public
rules move back only once it is healthy. Past the timeout it reports `timed_out` rather than
failing, so that the state machine leaves the rules where they are and says why.
"""
from __future__ import annotations

import time
from typing import Any

from release.adapters import elbv2
from release.errors import HealthTimeout
from release.plan_view import PlanView as Plan
from release.results import Health
from release.step import StepEvent, lambda_step, record_seconds


def check(event: StepEvent, phase: str) -> dict[str, Any]:
    plan = event.plan
    previous = event.result(phase)
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


def check_old(event: StepEvent) -> dict[str, Any]:
    old_services = (event.raw.get("rollback") or {}).get("old_services", [])
    return old_version_health(event.plan, event.results, old_services, event.result("old_health"))


@lambda_step
def handler(event: StepEvent) -> Health:
    phase = event.raw.get("phase", "health")
    return Health(**(check_old(event) if phase == "old_health" else check(event, phase)))
