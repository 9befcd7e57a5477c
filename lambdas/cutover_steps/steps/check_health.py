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
from typing import Any

from cutover_steps.checks import target_health
from cutover_steps.checks.target_health import old_version_health, poll
from cutover_steps.errors import HealthTimeout
from cutover_steps.results import Health
from cutover_steps.runtime.step import StepEvent, lambda_step, record_seconds

def check(event: StepEvent, phase: str, previous: dict[str, Any]) -> dict[str, Any]:
    plan = event.plan
    started = previous.get("started_at") or time.time()
    required = plan.config.required_healthy
    groups = event.results.target_groups.target_groups
    counts = [target_health.count(group["arn"], group["name"], required) for group in groups]
    ready = target_health.ready(counts)
    elapsed = time.time() - started
    timeout = plan.config.release.health_timeout_seconds
    if not ready and elapsed >= timeout:
        raise HealthTimeout(f"the new version was not healthy after {int(elapsed)} s (timeout {timeout} s): "
                            f"{target_health.detail(counts)}")
    result = {
        "healthy": ready, "counts": counts, "started_at": started, "checks": previous.get("checks", 0) + 1,
        "elapsed_seconds": int(elapsed),
    }
    if ready:
        result["healthy_at"] = time.time()
        if phase == "health":
            record_seconds("HealthWaitSeconds", elapsed)
        elif event.results.health.healthy_at and "approval" in event.results:
            # Re-checking starts right after the decision: the approval wait is the gap before it.
            record_seconds("ApprovalWaitSeconds", started - event.results.health.healthy_at)
    return result


@lambda_step
def handler(event: StepEvent) -> Health:
    phase = event.raw.get("phase", "health")
    if phase == "old_health":
        old_services = (event.raw.get("rollback") or {}).get("old_services", [])
        return Health(**poll(event, lambda previous: old_version_health(event.plan, event.results, old_services, previous),
                             event.results.old_health.to_json()))
    return Health(**poll(event, lambda previous: check(event, phase, previous), getattr(event.results, phase).to_json()))
