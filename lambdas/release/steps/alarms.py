"""Watch the configured CloudWatch alarms: before traffic moves, and during every traffic hold.

During a hold the step also runs the `hold` verification checks at each look (a failing one rolls
traffic back as an alarm does), and says how long to wait before the next look, so the state
machine's Wait never overshoots the hold.
"""
from __future__ import annotations

import math
import time

from release import verification
from release.adapters.cloudwatch import firing
from release.errors import AlarmFired
from release.results import Alarms
from release.step import StepEvent, lambda_step


@lambda_step
def handler(event: StepEvent) -> Alarms:
    plan = event.plan
    settings = plan.config.release
    names = list(settings.alarm_names)
    in_alarm, missing = firing(names) if names else ([], [])
    phase = event.raw.get("phase", "hold")
    if phase == "before_switch":
        if in_alarm and not settings.allow_alarms_before_switch:
            raise AlarmFired(
                f"alarms already in ALARM before the switch: {', '.join(in_alarm)}; traffic was not moved "
                "(set release.allow_alarms_before_switch to go on regardless)"
            )
        return Alarms(watched=names, in_alarm=in_alarm, missing=missing)
    if settings.allow_alarms_before_switch:
        # Alarms let through before the switch were accepted as they were; only an alarm that
        # goes into ALARM after that says something about the new version.
        in_alarm = [n for n in in_alarm if n not in event.result("alarms_before").get("in_alarm", [])]
    step = event.result("traffic")
    during = " during the bake (the old version is still warm)" if step.get("bake_seconds") else ""
    if in_alarm:
        raise AlarmFired(f"alarm {', '.join(in_alarm)} went into ALARM at {step.get('percent')}% to the new version{during}")
    checks = verification.run(plan, event.results, "hold", event.execution_id)
    verification.require_passed(checks, f"at {step.get('percent')}% to the new version{during}")
    remaining = max(0.0, step.get("hold_until", 0) - time.time())
    wait = min(math.ceil(remaining), settings.alarm_check_seconds) if remaining > 0 else 0
    return Alarms(watched=names, missing=missing, remaining_seconds=math.ceil(remaining), wait_seconds=wait,
                  verification=checks or None)
