"""Right before traffic moves: check the alarms, then read the live routes (what each public rule
forwards to now, and which versions those are).

One step for both, so the switch costs one invocation less: an alarm already in ALARM stops the
release before anything is read or changed, unless the config allows it (the watch of each hold
then ignores the alarms found here).
"""
from __future__ import annotations

from typing import Any

from release import ownership
from release.adapters import elbv2
from release.adapters.cloudwatch import firing
from release.errors import AlarmFired
from release.plan_view import TAG_PREFIX
from release.results import LiveRoutes
from release.step import StepEvent, lambda_step


def alarms_before_switch(settings: Any) -> dict[str, Any]:
    names = list(settings.alarm_names)
    in_alarm, missing = firing(names) if names else ([], [])
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
    new_groups = {g["route"]: g["arn"] for g in event.result("target_groups")["target_groups"]}
    rules = []
    for route in plan.routes:
        rule_arn = route.route.public_rule_arn
        forward = elbv2.forward_of(elbv2.rule(rule_arn, f"routes.{route.route.name}.public_rule_arn"))
        rules.append({"route": route.route.name, "rule": rule_arn, "forward": forward, "new": new_groups[route.route.name]})
    tags = elbv2.tags_of([arn for r in rules for arn in r["forward"]])
    old_services: dict[str, dict[str, Any]] = {}
    notes = []
    for r in rules:
        old = [arn for arn in r["forward"] if arn != r["new"]]
        r["old"] = old
        versions = sorted({tags.get(arn, {}).get(f"{TAG_PREFIX}version", "unknown") for arn in old})
        if len(old) > 1:
            notes.append(
                f"route {r['route']}: the public rule forwards to {len(old)} old target groups "
                f"(versions {', '.join(versions)}), left by an interrupted release; all of them are treated as the old version"
            )
        if not old:
            notes.append(f"route {r['route']}: already forwards only to version {plan.version}")
        for arn in old:
            arn_tags = tags.get(arn, {})
            name = arn_tags.get(f"{TAG_PREFIX}ecs-service")
            if not ownership.of_service(plan, arn_tags) or not name:
                notes.append(f"route {r['route']}: {arn.rsplit('/', 2)[-2]} belongs to {ownership.describe(arn_tags)}; it is not retired")
                continue
            entry = old_services.setdefault(name, {"ecs_service": name, "version": arn_tags.get(f"{TAG_PREFIX}version"), "target_groups": []})
            entry["target_groups"].append(arn)
    return LiveRoutes(routes=rules, old_services=list(old_services.values()), notes=notes, alarms=alarms)
