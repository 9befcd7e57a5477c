"""Read the live routes: what each public rule forwards to now, and which versions those are."""
from __future__ import annotations

from release import decisions
from release.results import LiveRoutes
from release.step import StepEvent, lambda_step


@lambda_step
def handler(event: StepEvent) -> LiveRoutes:
    plan = event.plan
    new_groups = {g["route"]: g["arn"] for g in event.result("target_groups")["target_groups"]}
    return LiveRoutes(**decisions.old_versions(plan, *decisions.public_rules(plan, new_groups)))
