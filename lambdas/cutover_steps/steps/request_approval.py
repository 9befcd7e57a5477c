"""Ask an operator: approve the prepared version, or, when a hold ends with the canary analysis still
inconclusive (`release.analysis.inconclusive: ask`), whether the new version goes on. The notification
carries what to look at and the commands to answer.

The state waits on the task token; `cutover approve|reject` finds the token in the execution
history and sends the decision back (SendTaskSuccess with {"decision": "approve"|"reject", …}).
The state asking about the analysis passes `question` in its payload (registry.QUESTION).
"""
from __future__ import annotations

import json
from typing import Any

from cutover_steps.adapters import notifications
from cutover_steps.adapters.clients import notification_topic
from cutover_steps.registry import ANALYSIS_QUESTION, QUESTION
from cutover_steps.results import ApprovalRequested
from cutover_steps.runtime.step import StepEvent, lambda_step


def message(event: StepEvent) -> dict[str, Any]:
    plan = event.plan
    execution = event.execution_id
    return {
        "subject": f"Cutover: {plan.service} {plan.version} ({plan.env}) is ready for approval",
        "service": plan.service,
        "env": plan.env,
        "version": plan.version,
        "execution": execution,
        "preparing_urls": [r.route.preparing_url for r in plan.routes if r.route.preparing_url],
        "approve": f"cutover approve {execution}",
        "reject": f"cutover reject {execution} --reason '…'",
        "timeout_seconds": plan.config.release.approval.timeout_seconds,
        # What the prepared verification checks found (all passed, or the release would not ask).
        "checks": [{"name": c.name, "message": c.message} for c in event.results.verify.verification_checks()],
    }


def analysis_question(event: StepEvent) -> dict[str, Any]:
    """The question of a hold that ended with the analysis inconclusive: its scorecard, and what each answer does."""
    plan = event.plan
    execution = event.execution_id
    watch = event.results.watch
    scorecard = watch.scorecard() or {}
    percent = scorecard.get("percent", event.results.traffic.percent)
    baking = " during the bake" if event.results.traffic.bake_seconds else ""
    timeout = plan.config.release.approval.timeout_seconds
    return {
        "subject": f"Cutover: {plan.service} {plan.version} ({plan.env}): analysis inconclusive at {percent}%{baking}, "
                   "go on?",
        "question": ANALYSIS_QUESTION,
        "service": plan.service,
        "env": plan.env,
        "version": plan.version,
        "execution": execution,
        "percent": percent,
        "why": watch.analysis_ask,
        "analysis": scorecard,
        "approve": f"cutover approve {execution}",
        "approve_does": f"{plan.version} goes on: the next traffic step, or it takes all traffic",
        "reject": f"cutover reject {execution} --reason '…'",
        "reject_does": "traffic is rolled back to the old version, as after a failing verdict",
        "timeout_seconds": timeout,
        "unanswered": f"with no answer in {timeout} s (approval.timeout_seconds) traffic is rolled back",
    }


@lambda_step
def handler(event: StepEvent) -> ApprovalRequested:
    asking = event.raw.get(QUESTION) == ANALYSIS_QUESTION
    body = analysis_question(event) if asking else message(event)
    topic = notification_topic()
    if topic:
        notifications.publish(topic, body["subject"], json.dumps(body, indent=2),
                              "analysis-inconclusive" if asking else "ready-for-approval")
    return ApprovalRequested(notified=topic, message=body)
