"""Put traffic back on the old version after a failure or an alarm while traffic moved.

Two phases, with the state machine's health wait between them, so that no rule ever forwards to
a version that cannot serve: `restore` gives the old service its count and autoscaling back;
`traffic`, once the old version is healthy, puts every public rule back on what the release read
before it changed anything, unless someone else changed the rule meanwhile (then it is left
alone and said so), and tears the new version down like a failed preparation. What to do is
decided in `cutover_steps.decisions.compensation` from what was read; this module applies it.
"""
from __future__ import annotations

from typing import Any

from cutover_steps.decisions import descriptions, compensation, ownership
from cutover_steps.adapters import autoscaling, ecs, elbv2, records
from cutover_steps.decisions.intent import Intent
from cutover_steps.plan.view import PlanView as Plan
from cutover_steps.results import Undone
from cutover_steps.runtime.earlier_results import EarlierResults
from cutover_steps.runtime.step import StepEvent, lambda_step, record_count
from cutover_steps.steps.tear_down_prepared import describe, tear_down, what_happened


def restore_rules(results: EarlierResults) -> list[dict[str, Any]]:
    written = results.traffic.written or {}
    routes = results.live.routes
    described = {route["route"]: elbv2.rule(route["rule"]) for route in routes}
    current = {name: descriptions.forward_of(description) for name, description in described.items()}
    done = []
    for route, intent in zip(routes, compensation.public_rules_back(routes, written, current)):
        if intent.acts:
            elbv2.set_forward(intent.name, described[route["route"]], intent.after)
            done.append({"route": route["route"], "changed": intent.why, "after": intent.after})
        else:
            done.append({"route": route["route"], "changed": None, "found": intent.why})
    return done


def restore_old(plan: Plan, results: EarlierResults | dict[str, Any], put_policies: bool = True) -> list[dict[str, Any]]:
    """Each old service back at its remembered count and autoscaling; says its count and target groups.
    `put_policies` False: a scalable target found gone gets its bounds back but not its policies."""
    remembered = (records.get(plan.record_key) or {}).get("retired") or {}
    done = []
    for old in EarlierResults.of(results).live.old_services:
        name = old["ecs_service"]
        service, saved = ecs.service(plan.cluster, name), remembered.get(name) or {}
        # The scalable target is read only when one was remembered: otherwise there is none to restore.
        ours = service is not None and ownership.of_service(plan, descriptions.tags_of(service))
        snapshot = autoscaling.snapshot(plan.cluster, name) if ours and saved.get("autoscaling") else None
        intent = compensation.old_version_back(plan, name, service, saved, snapshot)
        if compensation.left_alone(intent):
            done.append({"ecs_service": name, "changed": None, "found": intent.why})
        elif service is None:
            done.append({"ecs_service": name, "changed": None, "found": intent.why, "desired_count": 0,
                         "target_groups": old["target_groups"]})
        else:
            done.append({"ecs_service": name, "changed": bring_back(plan, name, intent,
                                                                   put_policies=put_policies and snapshot is None),
                         "desired_count": intent.after["desired_count"], "target_groups": old["target_groups"]})
    return done


def bring_back(plan: Plan, name: str, intent: Intent, put_policies: bool) -> str | None:
    """Apply `intent`. A parked scalable target kept its policies and scheduled actions, so only its
    bounds and suspension go back; one found gone (a version retired by a Cutover that still
    deregistered its target) gets its remembered target-tracking policies put back."""
    changes = []
    if intent.after["desired_count"] != intent.before["desired_count"]:
        ecs.set_desired(plan.cluster, name, intent.after["desired_count"])
        changes.append(f"desired count {intent.before['desired_count']} -> {intent.after['desired_count']}")
    if "autoscaling" in intent.after:
        autoscaling.restore(plan.cluster, name, intent.after["autoscaling"], policies=put_policies)
        changes.append("autoscaling restored")
    return "; ".join(changes) or None


def restore(event: StepEvent) -> Undone:
    error, cause = what_happened(event.raw.get("failure") or {}, event.plan, event.results)
    record_count("Rollbacks")
    return Undone(Error=error, Cause=cause, old_services=restore_old(event.plan, event.results))


def put_traffic_back(plan: Plan, results: EarlierResults | dict[str, Any], old_services: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """Once the old version is healthy: (what was done in words, the report) of putting every public
    rule back and tearing the new version down."""
    results = EarlierResults.of(results)
    rules = restore_rules(results)
    new = tear_down(plan, results)
    left = [r["route"] for r in rules if r.get("found", "").startswith("changed by someone")]
    summary = f"public rules back on the old version ({len(rules) - len(left)} of {len(rules)})"
    if left:
        summary += f"; left alone, changed by someone else: {', '.join(left)}"
    summary += f"; old service restored and healthy; new version: {describe(new)}"
    return summary, {"rules": rules, "old_services": old_services, "new_version": new}


def move_traffic_back(event: StepEvent) -> Undone:
    error, cause = what_happened(event.raw.get("failure") or {}, event.plan, event.results)
    summary, undone = put_traffic_back(event.plan, event.results, (event.raw.get("rollback") or {}).get("old_services", []))
    return Undone(Error=error, Cause=f"{cause} | Rolled back: {summary}.", undone=undone)


@lambda_step
def handler(event: StepEvent) -> Undone:
    return restore(event) if event.raw.get("phase") == "restore" else move_traffic_back(event)
