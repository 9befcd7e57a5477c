"""Tell people the release succeeded: the new version serves all traffic. Work after the switch
that did not finish is listed, so that nobody mistakes a warning for a clean release."""
from __future__ import annotations

from cutover_steps.decisions import unfinished
from cutover_steps.adapters import notifications
from cutover_steps.adapters.clients import notification_topic
from cutover_steps.results import Notified, describe_scorecard
from cutover_steps.runtime.step import StepEvent, lambda_step


def message(event: StepEvent) -> tuple[str, str, list[dict[str, str]]]:
    plan = event.plan
    # The states whose failures are warnings by then, named as the definition names them.
    left = unfinished.describe(event.raw.get("warnings"), event.raw.get("warned_by") or {})
    subject = "Cutover: release succeeded" + (" with warnings" if left else "")
    lines = [f"{plan.service} {plan.version} ({plan.env}) now serves all traffic. Execution: {event.execution_id}"]
    approved_by = (event.raw.get("notice") or {}).get("approved_by")
    if approved_by:
        # Noted by the definition from the answer to the approval's task token (name and AWS identity).
        lines.append(f"Approved by: {approved_by}.")
    checks = event.results.verify.verification_checks() + event.results.watch.verification_checks()
    if checks:
        phases: dict[str, list[str]] = {}
        for check in checks:
            phases.setdefault(check.name, []).append(check.phase)
        # Any that failed would have undone the release: every check named here passed.
        lines.append("Checks: " + "; ".join(f"{name} passed ({', '.join(dict.fromkeys(p))})" for name, p in phases.items()) + ".")
    scorecard = event.results.watch.scorecard()
    if scorecard:
        lines.append(f"Canary {describe_scorecard(scorecard)}.")
    let_on = event.results.analysis_answer
    if let_on.decision is not None:
        # An analysis ended inconclusive and an operator let the new version go on (inconclusive: ask).
        lines.append(f"Let go on with the analysis inconclusive by: {let_on.by or 'an answer that names nobody'}.")
    if left:
        lines += ["", "Not finished (traffic is not affected; the next release of this service finishes it):"]
        lines += [f"- {unfinished.line(w)}" for w in left]
    return subject, "\n".join(lines), left


@lambda_step
def handler(event: StepEvent) -> Notified:
    subject, text, left = message(event)
    topic = notification_topic()
    if not topic:
        return Notified(found="no notification topic configured", warnings=len(left))
    return Notified(MessageId=notifications.publish(topic, subject, text, "succeeded"), warnings=len(left))
