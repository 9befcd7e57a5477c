"""Count healthy targets in each of the new version's target groups against the required count.

The state machine loops (Wait, then check again) until `healthy`; past the timeout this step
raises HealthTimeout. Each check carries the first check's time forward from the previous result.
"""
from __future__ import annotations

import time
from typing import Any

from release.adapters import elbv2
from release.errors import HealthTimeout
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


@lambda_step
def handler(event: StepEvent) -> dict[str, Any]:
    return check(event, event.raw.get("phase", "health"))
