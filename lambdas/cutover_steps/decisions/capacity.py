"""Capacity that follows traffic (`release.capacity: proportional`): how many tasks the new version runs
for each traffic step, and its autoscaling bounds meanwhile. Pure: `cutover plan` and the sizing step
decide here from the plan alone.
"""
from __future__ import annotations

from typing import Any

# A quarter above the traffic share: room for uneven balancing and a task being replaced.
HEADROOM_PERCENT = 125


def proportional(config: Any) -> bool:
    return config.release.capacity == "proportional"


def starting_count(config: Any) -> int:
    """The new version's count when it is created: what the health gate needs when it follows traffic."""
    return config.required_healthy if proportional(config) else config.service_settings.desired_count


def size_for(config: Any, percent: int) -> int:
    """The tasks the new version runs before it takes `percent` of the traffic: ceil(desired x percent / 100
    x 1.25), never below required_healthy nor above desired_count; all of desired_count at 100 %."""
    desired = config.service_settings.desired_count
    if not proportional(config) or percent >= 100:
        return desired
    share = -(-desired * percent * HEADROOM_PERCENT // 10000)  # integer ceiling: no float rounding
    return max(config.required_healthy, min(desired, share))


def bounds_for(config: Any, size: int, percent: int) -> dict[str, int] | None:
    """The scalable target's bounds while the new version runs `size` tasks for `percent`: its minimum
    follows the size (autoscaling may add tasks, never take it below), its own bounds at 100 %."""
    scaling = config.service_settings.autoscaling
    if scaling is None:
        return None
    if not proportional(config) or percent >= 100:
        return {"min": scaling.min, "max": scaling.max}
    return {"min": size, "max": max(scaling.max, size)}


def plan_of(config: Any) -> list[dict[str, Any]]:
    """Every traffic step's size and bounds, for `cutover plan` and the docs' arithmetic."""
    return [{"percent": s.percent, "tasks": size_for(config, s.percent), "autoscaling": bounds_for(config, size_for(config, s.percent), s.percent)}
            for s in config.release.traffic_steps]
