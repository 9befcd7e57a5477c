"""Capacity that follows traffic: the new version's tasks and autoscaling bounds at each traffic step (pure)."""
from __future__ import annotations

import pytest

from cutover_steps.decisions.capacity import bounds_for, size_for, starting_count
from cutover_steps.config.models import DeployConfig
from tests.unit.configs import raw_config


def config(capacity: str = "proportional", desired: int = 8, autoscaling=(2, 10), **release):
    raw = raw_config()
    raw["service_settings"]["desired_count"] = desired
    raw["service_settings"]["autoscaling"] = autoscaling and {"min": autoscaling[0], "max": autoscaling[1], "policies": []}
    raw["release"].update(capacity=capacity, **release)
    return DeployConfig.model_validate(raw)


@pytest.mark.parametrize("percent, tasks", [(10, 2), (25, 3), (50, 5), (75, 8), (80, 8), (100, 8)])
def test_each_step_runs_a_quarter_more_than_its_share_never_below_required_healthy(percent, tasks):
    # ceil(8 x percent / 100 x 1.25): 10 % is 1, raised to required_healthy (autoscaling.min, 2)
    assert size_for(config(), percent) == tasks


def test_the_version_starts_at_what_the_health_gate_needs_and_full_capacity_keeps_today_s_behaviour():
    assert starting_count(config()) == 2
    assert starting_count(config(capacity="full")) == 8
    assert size_for(config(capacity="full"), 25) == 8


def test_an_explicit_required_healthy_is_the_floor():
    assert size_for(config(autoscaling=None, required_healthy=4), 25) == 4


def test_autoscaling_follows_the_size_and_gets_its_own_bounds_back_at_100():
    assert bounds_for(config(), 3, 25) == {"min": 3, "max": 10}
    assert bounds_for(config(), 8, 100) == {"min": 2, "max": 10}
    assert bounds_for(config(autoscaling=None), 3, 25) is None
