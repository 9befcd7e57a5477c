"""Undo a release that ended outside its flow — stopped by hand, timed out, or failed where no
Catch sees it — then free its lock.

No state of the definition runs after StopExecution or the execution timeout, so an EventBridge
rule (Step Functions Execution Status Change) calls this function. It reads how far the release
got from the execution history and gives it the same undo as a failure at that point
(`release.stopping.decide`): before traffic moved, the prepared version is torn down; while
traffic moved, the old version gets its capacity back, and only once it is healthy do the public
rules go back (never over someone else's change) and the new version is torn down; once the old
version is retired, nothing is moved. The notification says what was undone. A release whose own
undo failed comes here too, still holding its lock: this is the undo's second attempt.
"""
from __future__ import annotations

import time
from typing import Any

from release import stopping
from release.adapters import executions, notifications
from release.aws import notification_topic
from release.plan_view import PlanView as Plan, read_plan
from release.registry import BY_KEY, STOPPED_RELEASE_HANDLER
from release.results import StoppedUndone
from release.step import StepEvent, lambda_step, record_count
from release.steps import lock, unlock
from release.steps.health import old_version_health
from release.steps.rollback_traffic import put_traffic_back, restore_old
from release.steps.teardown import describe, tear_down

# The health wait happens inside this function: it must end, with a margin, before the function's timeout.
WAIT_BUDGET_SECONDS = BY_KEY[STOPPED_RELEASE_HANDLER].timeout_seconds - 60


def roll_back(plan: Plan, results: dict[str, Any]) -> tuple[str, dict[str, Any], bool]:
    """(words, report, undone): the old version back to its capacity, then, once healthy, the rules."""
    old = restore_old(plan, results)
    health: dict[str, Any] = {}
    deadline = time.time() + WAIT_BUDGET_SECONDS
    while True:
        health = old_version_health(plan, results, old, health)
        if health["healthy"]:
            summary, report = put_traffic_back(plan, results, old)
            return summary, report, True
        if health["timed_out"] or time.time() >= deadline:
            why = health.get("summary") or f"the old version was not healthy within {WAIT_BUDGET_SECONDS} s"
            return (f"not rolled back: {why}; public traffic stays where it is and the new version keeps running",
                    {"old_services": old, "old_health": health}, False)
        time.sleep(max(0.0, min(plan.config.release.poll_interval_seconds, deadline - time.time())))


def undo(plan: Plan, results: dict[str, Any]) -> tuple[str, dict[str, Any], bool]:
    """(what was done in words, the report, whether it is fully undone) for a release that got as far as `results`."""
    decision = stopping.decide(results)
    if decision == stopping.KEEP:
        return stopping.keep_words(results), {}, True
    record_count("Rollbacks")
    if decision == stopping.ROLL_BACK:
        return roll_back(plan, results)
    report = tear_down(plan, results)
    return f"{describe(report)}; public traffic was not moved", report, True


def notify(data: dict[str, Any], how: str, status: str, execution: str, words: str, undone: bool) -> None:
    topic = notification_topic()
    if not topic:
        return
    plan = data.get("plan") or {}
    message = (f"{(plan.get('config') or {}).get('service', 'a release')} {plan.get('version', '')} ({plan.get('env', '')}) "
               f"was {how}. {'Undone' if undone else 'Could not be fully undone'}: {words}. Execution: {execution}")
    subject = f"Cutover: release {how}" + ("" if undone else ", undo incomplete")
    notifications.publish(topic, subject, message, status.lower())


@lambda_step
def handler(event: StepEvent) -> StoppedUndone:
    detail = event.raw.get("detail") or {}
    status, execution = detail.get("status"), detail.get("executionArn", "")
    if status not in stopping.ENDED_OUTSIDE_THE_FLOW:
        return StoppedUndone(execution=execution, found=f"execution {status}: it has not ended badly")
    events = executions.history(execution)
    if not stopping.undo_needed(status, events):
        # Its Catch undid it; a lock it still holds (its unlock state failed) must not stay behind.
        return StoppedUndone(status=status, found="undone by its own states", **unlock.release_held_by(execution))
    data = stopping.last_state_data(events)
    results = data.get("results") or {}
    decision = stopping.decide(results) if data.get("plan") else stopping.NOTHING
    if decision in (stopping.TEAR_DOWN, stopping.ROLL_BACK) and not lock.claim_for_undo(data["plan"]["lock_key"], execution):
        words, report, undone = ("nothing undone: another release has taken the service's lock over, and the "
                                 "service is its own now"), {}, False
    elif decision != stopping.NOTHING:
        words, report, undone = undo(read_plan(data["plan"]), results)
    else:
        words, report, undone = stopping.intent(results), {}, True
    unlocked = unlock.release_held_by(execution)
    notify(data, stopping.how_it_ended(status, events), status, execution, words, undone)
    return StoppedUndone(status=status, undone=words, fully_undone=undone, report=report, **unlocked)
