"""Right before traffic moves: check the alarms, then read the live routes (what each public rule
forwards to now, and which versions those are).

One step for both, so the switch costs one invocation less: an alarm already in ALARM stops the
release before anything is read or changed, unless the config allows it (the watch of each hold
then ignores the alarms found here).
"""
from __future__ import annotations

from typing import Any

from cutover_steps.decisions import forward as decisions
from cutover_steps.reads import live_routes
from cutover_steps.adapters.cloudwatch import firing
from cutover_steps.errors import AlarmFired
from cutover_steps.results import LiveRoutes
from cutover_steps.runtime.step import StepEvent, lambda_step


def alarms_before_switch(settings: Any) -> dict[str, Any]:
    names = list(settings.alarm_names)
    in_alarm, missing = firing(names)
    if in_alarm and not settings.allow_alarms_before_switch:
        raise AlarmFired(
            f"alarms already in ALARM before the switch: {', '.join(in_alarm)}; traffic was not moved "
            "(set release.allow_alarms_before_switch to go on regardless)"
        )
    return {"watched": names, "in_alarm": in_alarm, "missing": missing}


@lambda_step
def handler(event: StepEvent) -> LiveRoutes:
    plan = event.plan
    alarms = alarms_before_switch(plan.config.release)
    new_groups = {g["route"]: g["arn"] for g in event.results.target_groups.target_groups}
    return LiveRoutes(**decisions.old_versions(plan, *live_routes.public_rules(plan, new_groups)), alarms=alarms)
