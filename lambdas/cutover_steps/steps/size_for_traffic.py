"""Before a traffic step, when the new version follows its traffic (`release.capacity: proportional`):
scale it to its share of that step (`release.capacity`) and wait, inside the invocation, until each of
its target groups has that many healthy targets; only then does the shift change the weights.

Scaling only adds tasks: autoscaling may have added more, and those stay. The scalable target's minimum
follows the size, so that autoscaling never takes the version below it; at 100 % the configured bounds
come back. The old version is not touched. Shortly before the function's time limit it returns not
ready, and the state machine runs it again; past the health timeout it raises HealthTimeout and
traffic, never moved for this step, is rolled back.
"""
from __future__ import annotations

import time

from cutover_steps.checks import target_health
from cutover_steps.decisions import capacity
from cutover_steps.adapters import autoscaling, ecs
from cutover_steps.errors import HealthTimeout
from cutover_steps.results import Sized
from cutover_steps.runtime.step import StepEvent, lambda_step


def scale(event: StepEvent, size: int, percent: int) -> tuple[int, str | None, dict[str, int] | None]:
    """(the count before, what changed, the scalable target's bounds now), acting only on the difference."""
    plan = event.plan
    service = ecs.service(plan.cluster, plan.ecs_service)
    before = service["desiredCount"] if service else 0
    changes = []
    bounds = capacity.bounds_for(plan.config, size, percent)
    if bounds is not None and event.results.sizing.autoscaling != bounds:
        # Registered first: the bounds must allow the new count, or autoscaling would put it back.
        autoscaling.set_bounds(plan.cluster, plan.ecs_service, bounds["min"], bounds["max"])
        changes.append(f"autoscaling {bounds['min']}-{bounds['max']}")
    if before < size:
        ecs.set_desired(plan.cluster, plan.ecs_service, size)
        changes.append(f"desired count {before} -> {size}")
    return before, "; ".join(changes) or None, bounds


@lambda_step
def handler(event: StepEvent) -> Sized:
    plan = event.plan
    index = event.results.traffic.index + 1 if "traffic" in event.results else 0
    percent = plan.config.release.traffic_steps[index].percent
    size = capacity.size_for(plan.config, percent)
    previous = event.results.sizing
    same_step = "sizing" in event.results and previous.index == index
    started = previous.started_at if same_step else time.time()
    before, changed, bounds = scale(event, size, percent)
    groups = event.results.target_groups.target_groups
    timeout = plan.config.release.health_timeout_seconds

    def look(_previous: dict) -> dict:
        counts = [target_health.count(group["arn"], group["name"], size) for group in groups]
        elapsed = time.time() - started
        if not target_health.ready(counts) and elapsed >= timeout:
            raise HealthTimeout(f"the new version was not healthy at {size} task(s) for {percent}% after {int(elapsed)} s "
                                f"(timeout {timeout} s): {target_health.detail(counts)}")
        return {"healthy": target_health.ready(counts), "counts": counts}

    looked = target_health.poll(event, look, {})
    return Sized(index=index, percent=percent, tasks=size, desired_before=before, changed=changed,
                 autoscaling=bounds, counts=looked["counts"], ready=looked["healthy"], started_at=started)
