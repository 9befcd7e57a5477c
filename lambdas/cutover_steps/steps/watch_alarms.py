"""Watch a traffic hold, in one invocation: the configured CloudWatch alarms, the `hold` verification
checks and the canary judge (`release.analysis`), looked at every `alarm_check_seconds` (and every
`analysis.interval_seconds`) until the hold (and the bake) is over.

An alarm in ALARM, or a failing check, raises: the state machine rolls traffic back. A failing verdict
of the judge returns at once with `analysis_failed` (its scorecard stays in the history), and the
state machine rolls back the same way; an inconclusive one at the end of the hold is extended, fails,
or returns with `analysis_ask` for an operator to decide (`inconclusive: ask`), as the config says.
The step returns when the hold is over, or shortly before its function's time limit (`hold_over`
false), and the state machine then runs it again: one loop per time limit, whatever the hold's length.
It only reads: a watch that outlives its execution (StopExecution does not stop a running Lambda
function) changes nothing, and what it returns goes nowhere.
"""
from __future__ import annotations

import math
import time
from typing import Any

from cutover_steps.checks import analysis, verification
from cutover_steps.decisions import judge
from cutover_steps.runtime import polling
from cutover_steps.adapters.cloudwatch import firing
from cutover_steps.errors import AlarmFired
from cutover_steps.results import Alarms
from cutover_steps.runtime.step import StepEvent, lambda_step

# A look is a DescribeAlarms (with the SDK's retries), the judge's GetMetricData and the hold checks,
# whose HTTP attempts may take up to the config's budget (40 s): no sleep starts that would leave the
# function less than this.
LOOK_MARGIN_SECONDS = 100


def carried(event: StepEvent, index: Any) -> Alarms:
    """What an earlier run of this watch, for the same traffic step, left: the judge's last scorecard,
    when it judged, how far the hold was extended."""
    previous = event.results.watch
    return previous if previous.index is not None and previous.index == index else Alarms()


@lambda_step
def handler(event: StepEvent) -> Alarms:
    plan = event.plan
    settings = plan.config.release
    judging = settings.analysis
    names = list(settings.alarm_names)
    # Alarms let through before the switch were accepted as they were; only an alarm that goes
    # into ALARM after that says something about the new version.
    accepted = set((event.results.live.alarms or {}).get("in_alarm", [])) if settings.allow_alarms_before_switch else set()
    step = event.results.traffic
    where = f"at {step.percent}% to the new version"
    where += " during the bake (the old version is still warm)" if step.bake_seconds else ""
    earlier = carried(event, step.index)
    extended = earlier.extended_seconds or 0
    scorecard, judged_at = earlier.analysis, earlier.judged_at or 0.0
    every = min(settings.alarm_check_seconds, judging.interval_seconds) if judging else settings.alarm_check_seconds
    looks, missing, checks = 0, [], []

    def result(**fields: Any) -> Alarms:
        remaining = max(0.0, step.hold_until + extended - time.time())
        return Alarms(watched=names, missing=missing, looks=looks, remaining_seconds=math.ceil(remaining),
                      hold_over=remaining <= 0, verification=checks or None, index=step.index,
                      **({"analysis": scorecard, "judged_at": judged_at, "extended_seconds": extended} if judging else {}),
                      **fields)

    # The first look comes one interval into the hold: right before it, the alarms were looked at
    # before the switch, or at the end of the previous hold, or by the run that reached its time limit.
    # With the judge, the hold's end is a look of its own: the last verdict decides what comes next.
    while True:
        remaining = step.hold_until + extended - time.time()
        if remaining <= 0 and not judging:
            break
        if remaining > 0 and not polling.pause(min(remaining, every), event.context, LOOK_MARGIN_SECONDS):
            break
        in_alarm, missing = firing(names)
        looks += 1
        in_alarm = [n for n in in_alarm if n not in accepted]
        if in_alarm:
            raise AlarmFired(f"alarm {', '.join(in_alarm)} went into ALARM {where}")
        checks = verification.run(plan, event.results, "hold", event.execution_id)
        verification.require_passed(checks, where)
        if not judging:
            continue
        now = time.time()
        over = step.hold_until + extended - now <= 0
        if over or now - judged_at >= judging.interval_seconds - 0.5:
            scorecard, judged_at = analysis.look(plan, event.results, now), now
        if scorecard and scorecard["verdict"] == judge.FAIL:
            return result(analysis_failed=f"the canary analysis failed {where}: {judge.describe(scorecard)}")
        if not over:
            continue
        then = judge.at_hold_end(scorecard["verdict"], judging, extended)
        if then == "go on":
            break
        if then == "extend":
            extended += min(judging.interval_seconds, judging.max_extend_seconds - extended)
            continue
        if then == "ask":
            return result(analysis_ask=f"the canary analysis is inconclusive {where}: {judge.describe(scorecard)}")
        why = (f"still inconclusive after the hold was extended by {extended} s (max_extend_seconds)"
               if judging.inconclusive == "extend" else "inconclusive at the end of the hold (inconclusive: fail)")
        return result(analysis_failed=f"the canary analysis was {why} {where}: {judge.describe(scorecard)}")
    return result()
