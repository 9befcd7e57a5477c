"""Right before traffic moves: check the alarms, then read the live routes (what each public rule
forwards to now, and which versions those are).

One step for both, so the switch costs one invocation less: an alarm already in ALARM stops the
release before anything is changed, unless the config allows it (the watch of each hold then ignores
the alarms found here).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from cutover_steps.adapters.cloudwatch import firing
from cutover_steps.decisions import forward as decisions
from cutover_steps.decisions.intent import Intent
from cutover_steps.errors import AlarmFired
from cutover_steps.reads import live_routes
from cutover_steps.results import LiveRoutes
from cutover_steps.runtime.protocol import StepProtocol
from cutover_steps.runtime.step import StepEvent


@dataclass(frozen=True)
class Found:
    watched: list[str]
    in_alarm: list[str]
    # Configured alarms CloudWatch does not know.
    missing: list[str]
    # Each public rule as read: route, rule ARN, forward (target group ARN -> weight), new (the new
    # version's group ARN, None when it is planned but not created yet).
    rules: list[dict[str, Any]]
    # Tags of every target group the public rules forward to, by ARN.
    tags: dict[str, dict[str, str]]


@dataclass(frozen=True)
class Decided:
    # What LiveRoutes.alarms says: watched, in_alarm, missing.
    alarms: dict[str, Any]
    # `decisions.forward.old_versions`: routes (each rule's forward, new and old groups), old_services, notes.
    live: dict[str, Any]
    # Tags of the target groups the public rules forward to (the versions they serve now), by ARN.
    tags: dict[str, dict[str, str]]
    refusal: AlarmFired | None

    @property
    def intents(self) -> list[Intent]:
        # Only reads: the weights it leads to are ShiftTraffic's decisions.
        return []


def read(event: StepEvent) -> Found:
    """The alarms' states, then each public rule's forward and its groups' tags."""
    names = list(event.plan.config.release.alarm_names)
    in_alarm, missing = firing(names)
    new_groups = {g["route"]: g["arn"] for g in event.results.target_groups.target_groups}
    rules, tags = live_routes.public_rules(event.plan, new_groups)
    return Found(names, in_alarm, missing, rules, tags)


def decide(event: StepEvent, found: Found) -> Decided:
    refusal = None
    if found.in_alarm and not event.plan.config.release.allow_alarms_before_switch:
        refusal = AlarmFired(
            f"alarms already in ALARM before the switch: {', '.join(found.in_alarm)}; traffic was not moved "
            "(set release.allow_alarms_before_switch to go on regardless)"
        )
    alarms = {"watched": list(found.watched), "in_alarm": list(found.in_alarm), "missing": list(found.missing)}
    # old_versions sets each rule's `old`: on a copy, so what was read stays as read.
    live = decisions.old_versions(event.plan, copy.deepcopy(found.rules), found.tags)
    return Decided(alarms, live, found.tags, refusal)


def expect(event: StepEvent, decided: Decided) -> LiveRoutes:
    return LiveRoutes(**copy.deepcopy(decided.live), alarms=copy.deepcopy(decided.alarms))


def apply(event: StepEvent, decided: Decided) -> LiveRoutes:
    # Nothing changes: what was read and decided is the result.
    return expect(event, decided)


STEP = StepProtocol(read, decide, apply, expect)
handler = STEP.handler()
