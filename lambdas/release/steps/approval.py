"""Ask for approval: notify with the preparing URLs and the commands to approve or reject.

The state waits on the task token; `cutover approve|reject` finds the token in the execution
history and sends the decision back (SendTaskSuccess with {"decision": "approve"|"reject", …}).
"""
from __future__ import annotations

import json
from typing import Any

from release.adapters import notifications
from release.aws import notification_topic
from release.results import ApprovalRequested, Verified
from release.step import StepEvent, lambda_step


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
        "checks": [{"name": c.name, "message": c.message} for c in Verified.from_json(event.result("verify")).verification_checks()],
    }


@lambda_step
def handler(event: StepEvent) -> ApprovalRequested:
    body = message(event)
    topic = notification_topic()
    if topic:
        notifications.publish(topic, body["subject"], json.dumps(body, indent=2), "ready-for-approval")
    return ApprovalRequested(notified=topic, message=body)
