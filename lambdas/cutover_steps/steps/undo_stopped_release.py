"""Undo a release that ended outside its flow — stopped by hand, timed out, or failed where no
Catch sees it — then free its lock; and start that undo, once, whoever asks.

No state of the release runs after StopExecution or the execution timeout, and the step that ran
goes on until its function returns or times out. EventBridge (at least once: twice, late or never)
calls this function with the status change, and a schedule calls it to sweep for what no delivery
undid; either way it starts the undo's own execution (`statemachine/undo.asl.json`) under the
release execution's name, so that a second start runs nothing twice. That execution calls this
function again for each phase: find what the release left and until when its last step may run;
once that time has passed, read the account and decide (`cutover_steps.decisions.stopping.decide_from_account`);
bring the old version back, wait for its health as long as the config allows, put the rules back
and tear the new version down; free the lock and tell people, once.
"""
from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from cutover_steps.decisions import descriptions, stopping
from cutover_steps.adapters import ecs, elbv2, executions, notifications, records
from cutover_steps.adapters.clients import function_timeouts, notification_topic, undo_state_machine
from cutover_steps.plan.view import PlanView as Plan, read_plan
from cutover_steps.results import StoppedUndone
from cutover_steps.decisions.stop_record import stop_of
from cutover_steps.runtime.earlier_results import EarlierResults
from cutover_steps.runtime.step import StepEvent, lambda_step, record_count
from cutover_steps.steps import lock_service as lock, unlock_service as unlock
from cutover_steps.checks.target_health import old_version_health
from cutover_steps.steps.roll_back_traffic import put_traffic_back, restore_old
from cutover_steps.steps.tear_down_prepared import describe, tear_down
from cutover_steps.decisions.traffic import weights_for

# The health wait returns before the function's time limit, keeping this much for one more look.
HEALTH_MARGIN_SECONDS = 30
# Lambda may start a function a little after the history's schedule time says.
START_SLACK_SECONDS = 5
TAKEN_OVER = "nothing undone: another release has taken the service's lock over, and the service is its own now"


# -- Starting the undo, once ---------------------------------------------------------------------
def start_undo(execution_arn: str) -> dict[str, Any]:
    name = execution_arn.rsplit(":", 1)[-1]
    undo, started = executions.start(undo_state_machine(), name, stopping.undo_input(execution_arn))
    return {"execution": execution_arn, "undo_execution": undo,
            "found": "undo started, or running already" if started else "undo started earlier; it has ended"}


def sweep() -> dict[str, Any]:
    """The safety net: every lock held by an execution that has ended gets its undo started (a
    status change that never came, an undo whose delivery failed for good)."""
    started = []
    for item in records.locks():
        holder = item.get("held_by")
        if not holder or executions.status(holder) in ("RUNNING", None):
            continue
        started.append(start_undo(holder))
    return {"undos": started}


# -- The undo's phases, called by its state machine ------------------------------------------------
def find(execution: str) -> dict[str, Any]:
    status = executions.status(execution) or "missing"
    if status not in stopping.ENDED_OUTSIDE_THE_FLOW:
        return {"undo": False, "status": status, "why": f"execution {status}: it has not ended badly"}
    events = executions.newest_history(execution, stopping.enough_read)
    if not stopping.undo_needed(status, events):
        return {"undo": False, "status": status, "why": "undone by its own states"}
    data, running = stopping.newest_state_data(events), stopping.still_running(events)
    how, results = stopping.how_it_ended(status, events), data.get("results") or {}
    # Who stopped it and why (`cutover stop`), for the notification.
    stopped = stop_of(events)
    told = {"stop": stopped.to_json()} if stopped else {}
    if not data.get("plan") or ("lock" not in results and not running and not _holds_lock(data, execution)):
        return {"undo": False, "status": status, "how": how, "plan": data.get("plan"), "why": stopping.intent(results), **told}
    plan = data["plan"]
    if not lock.claim_for_undo(plan["lock_key"], execution):
        return {"undo": False, "status": status, "how": how, "plan": plan, "fully_undone": False, "why": TAKEN_OVER, **told}
    until = stopping.may_run_until(running, function_timeouts(), datetime.now(timezone.utc))
    if running:
        until += timedelta(seconds=START_SLACK_SECONDS)
    return {"undo": True, "status": status, "how": how, "plan": plan, "results": results, **told,
            "still_running": running, "wait_until": until.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}


def _holds_lock(data: dict[str, Any], execution: str) -> bool:
    """A lock step that finished after the stop took the lock all the same."""
    key = (data.get("plan") or {}).get("lock_key")
    return bool(key) and (records.get(key) or {}).get("held_by") == execution


def read_routes(results: EarlierResults) -> list[tuple[dict[str, Any], dict[str, int]]]:
    """Each public route the release read, with what its rule forwards to now."""
    return [(route, descriptions.forward_of(elbv2.rule(route["rule"]))) for route in results.live.routes]


def decide(execution: str, found: dict[str, Any]) -> dict[str, Any]:
    plan, results = read_plan(found["plan"]), EarlierResults(found.get("results"))
    held = records.get(plan.lock_key)
    if held is not None and held.get("held_by") != execution:
        # Taken over while the undo waited (its mark ran out): the service is another release's now.
        return {"decision": stopping.NOTHING, "fully_undone": False, "words": TAKEN_OVER}
    routes = read_routes(results)
    new_weight = any(now.get(route["new"], 0) > 0 for route, now in routes)
    new_only = bool(routes) and all(set(now) == {route["new"]} for route, now in routes)
    old = [ecs.service(plan.cluster, s["ecs_service"]) for s in results.live.old_services]
    old_retired = all(service is None or service["desiredCount"] == 0 for service in old)
    decision = stopping.decide_from_account(results, new_weight, new_only, old_retired)
    if decision == stopping.KEEP:
        # Nothing to change: a finished switch is kept, with or without the lock (a late unlock freed it).
        return {"decision": decision, "fully_undone": True, "words": stopping.keep_words(results)}
    if held is None:
        if "lock" not in results:
            # The release never took its lock (a lock step that ran late would have taken it by now).
            return {"decision": stopping.NOTHING, "fully_undone": True, "words": stopping.intent({})}
        return {"decision": stopping.NOTHING, "fully_undone": False,
                "words": "nothing undone: the lock was freed before the undo could hold it, and the undo acts only holding it"}
    lock.claim_for_undo(plan.lock_key, execution)
    record_count("Rollbacks")
    if decision == stopping.ROLL_BACK:
        # The old versions are those this release found serving: a retirement by this release parks
        # their scalable target, never deletes it, so the undo has no policy to put back.
        return {"decision": decision, "old_services": restore_old(plan, results, put_policies=False)}
    report = tear_down(plan, results)
    return {"decision": decision, "fully_undone": True, "report": report,
            "words": f"{describe(report)}; public traffic was not moved"}


def old_health(event: StepEvent, found: dict[str, Any]) -> dict[str, Any]:
    """Poll the old version's health until healthy, the config's timeout, or the function's time limit."""
    plan, results = read_plan(found["plan"]), EarlierResults(found.get("results"))
    old_services, health = (event.raw.get("undo") or {}).get("old_services", []), event.raw.get("health") or {}
    while True:
        health = old_version_health(plan, results, old_services, health)
        left = event.context.get_remaining_time_in_millis() / 1000 if event.context else HEALTH_MARGIN_SECONDS * 2
        if health["healthy"] or health["timed_out"] or left < HEALTH_MARGIN_SECONDS + plan.config.release.poll_interval_seconds:
            return health
        time.sleep(plan.config.release.poll_interval_seconds)


def with_late_writes(plan: Plan, results: EarlierResults) -> EarlierResults:
    """The shift's result as the release last wrote the rules, counting a write that landed after the
    stop: a rule holding the weights of one of this release's own traffic steps was written by it."""
    written = dict(results.traffic.written or {})
    percents = [int(step.percent) for step in plan.config.release.traffic_steps]
    for route, now in read_routes(results):
        if any(elbv2.normalized(now) == elbv2.normalized(weights_for(route, p)) for p in percents):
            written[route["route"]] = now
    return results.replaced(traffic=replace(results.traffic, written=written))


def traffic_back(found: dict[str, Any], undo: dict[str, Any]) -> dict[str, Any]:
    plan = read_plan(found["plan"])
    words, report = put_traffic_back(plan, with_late_writes(plan, EarlierResults(found.get("results"))), undo.get("old_services", []))
    return {**undo, "words": words, "report": report, "fully_undone": True}


def outcome(found: dict[str, Any], undo: dict[str, Any], health: dict[str, Any]) -> tuple[str, bool]:
    """(what the undo did in words, whether it is fully undone)."""
    if not found.get("undo"):
        return found.get("why", ""), found.get("fully_undone", True)
    if undo.get("decision") == stopping.ROLL_BACK and "words" not in undo:
        why = health.get("summary") or "the old version did not become healthy"
        return f"not rolled back: {why}; public traffic stays where it is and the new version keeps running", False
    return undo.get("words", ""), bool(undo.get("fully_undone"))


def finish(execution: str, found: dict[str, Any], undo: dict[str, Any], health: dict[str, Any]) -> StoppedUndone:
    words, undone = outcome(found, undo, health)
    if found.get("status") in ("RUNNING", "missing", None):
        # Only the locks of an execution that has ended are ever freed here.
        return StoppedUndone(status=found.get("status"), found=words or "the execution has not ended badly")
    unlocked = unlock.release_held_by(execution)
    if found.get("undo") or found.get("how"):
        notify(found, execution, words, undone)
    return StoppedUndone(status=found.get("status"), undone=words, fully_undone=undone,
                         report=undo.get("report") or {}, **unlocked)


def failed(execution: str, found: dict[str, Any], failure: dict[str, Any]) -> StoppedUndone:
    from cutover_steps.decisions.unfinished import message_of

    words = f"the undo failed: {failure.get('Error', 'error')}: {message_of(failure.get('Cause'))}"
    unlocked = unlock.release_held_by(execution)
    notify(found, execution, words, False)
    return StoppedUndone(status=found.get("status"), undone=words, fully_undone=False, **unlocked)


def notify(found: dict[str, Any], execution: str, words: str, undone: bool) -> None:
    topic = notification_topic()
    if not topic:
        return
    plan, how, stop = found.get("plan") or {}, found.get("how") or "ended", found.get("stop")
    by = f" by {stop['by']}. Reason: {stop['reason']}" if stop else ""
    message = (f"{(plan.get('config') or {}).get('service', 'a release')} {plan.get('version', '')} ({plan.get('env', '')}) "
               f"was {how}{by}. {'Undone' if undone else 'Could not be fully undone'}: {words}. Execution: {execution}")
    subject = f"Cutover: release {how}" + ("" if undone else ", undo incomplete")
    notifications.publish(topic, subject, message, str(found.get("status", "")).lower())


@lambda_step
def handler(event: StepEvent) -> StoppedUndone | dict[str, Any]:
    raw = event.raw
    if raw.get("detail-type") == "Step Functions Execution Status Change":
        detail = raw.get("detail") or {}
        if detail.get("status") not in stopping.ENDED_OUTSIDE_THE_FLOW:
            return StoppedUndone(execution=detail.get("executionArn"), found=f"execution {detail.get('status')}: it has not ended badly")
        return start_undo(detail["executionArn"])
    if raw.get("sweep"):
        return sweep()
    phase, execution, found = raw.get("phase"), raw.get("execution", ""), raw.get("found") or {}
    if phase == "find":
        return find(execution)
    if phase == "decide":
        return decide(execution, found)
    if phase == "old_health":
        return old_health(event, found)
    if phase == "traffic_back":
        return traffic_back(found, raw.get("undo") or {})
    if phase == "finish":
        return finish(execution, found, raw.get("undo") or {}, raw.get("health") or {})
    if phase == "failed":
        return failed(execution, found, raw.get("failure") or {})
    raise ValueError(f"unknown event for the undo of stopped releases: {sorted(raw)}")
