"""Watch a traffic hold, in one invocation: the configured CloudWatch alarms and the `hold`
verification checks, looked at every `alarm_check_seconds` until the hold (and the bake) is over.

An alarm in ALARM, or a failing check, raises: the state machine rolls traffic back. The step
returns when the hold is over, or shortly before its function's time limit (`hold_over` false),
and the state machine then runs it again: one loop per time limit, whatever the hold's length. It
only reads: a watch that outlives its execution (StopExecution does not stop a running Lambda
function) changes nothing, and what it returns goes nowhere.
"""
from __future__ import annotations

import math
import time
from release import polling, verification
from release.adapters.cloudwatch import firing
from release.errors import AlarmFired
from release.results import Alarms
from release.step import StepEvent, lambda_step

# A look is a DescribeAlarms (with the SDK's retries) and the hold checks, whose HTTP attempts may
# take up to the config's budget (40 s): no sleep starts that would leave the function less than this.
LOOK_MARGIN_SECONDS = 100


@lambda_step
def handler(event: StepEvent) -> Alarms:
    plan = event.plan
    settings = plan.config.release
    names = list(settings.alarm_names)
    # Alarms let through before the switch were accepted as they were; only an alarm that goes
    # into ALARM after that says something about the new version.
    accepted = set((event.result("live").get("alarms") or {}).get("in_alarm", [])) if settings.allow_alarms_before_switch else set()
    step = event.result("traffic")
    where = f"at {step.get('percent')}% to the new version"
    where += " during the bake (the old version is still warm)" if step.get("bake_seconds") else ""
    looks, missing, checks = 0, [], []
    # The first look comes one interval into the hold: right before it, the alarms were looked at
    # before the switch, or at the end of the previous hold, or by the run that reached its time limit.
    while (remaining := step.get("hold_until", 0) - time.time()) > 0 and polling.pause(
            min(remaining, settings.alarm_check_seconds), event.context, LOOK_MARGIN_SECONDS):
        in_alarm, missing = firing(names)
        looks += 1
        in_alarm = [n for n in in_alarm if n not in accepted]
        if in_alarm:
            raise AlarmFired(f"alarm {', '.join(in_alarm)} went into ALARM {where}")
        checks = verification.run(plan, event.results, "hold", event.execution_id)
        verification.require_passed(checks, where)
    remaining = max(0.0, step.get("hold_until", 0) - time.time())
    return Alarms(watched=names, missing=missing, looks=looks, remaining_seconds=math.ceil(remaining),
                  hold_over=remaining <= 0, verification=checks or None)
