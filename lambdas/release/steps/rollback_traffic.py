"""Put traffic back on the old version after a failure or an alarm while traffic moved.

Two phases, with the state machine's health wait between them, so that no rule ever forwards to
a version that cannot serve: `restore` gives the old service its count and autoscaling back;
`traffic`, once the old version is healthy, puts every public rule back on what the release read
before it changed anything, unless someone else changed the rule meanwhile (then it is left
alone and said so), and tears the new version down like a failed preparation.
"""
from __future__ import annotations

from typing import Any

from release import ownership
from release.adapters import autoscaling, ecs, elbv2, records
from release.plan_view import PlanView as Plan
from release.results import Undone
from release.step import StepEvent, lambda_step, record_count
from release.steps.teardown import describe, tear_down, what_happened


def restore_rules(results: dict[str, Any]) -> list[dict[str, Any]]:
    written = (results.get("traffic") or {}).get("written") or {}
    done = []
    for route in (results.get("live") or {}).get("routes", []):
        description = elbv2.rule(route["rule"])
        current = elbv2.normalized(elbv2.forward_of(description))
        original = {arn: int(w) for arn, w in route["forward"].items()}
        ours = written.get(route["route"])
        if current == elbv2.normalized(original):
            done.append({"route": route["route"], "changed": None, "found": "already on the old version"})
        elif ours and current == elbv2.normalized({a: int(w) for a, w in ours.items()}):
            elbv2.set_forward(route["rule"], description, original)
            done.append({"route": route["route"], "changed": "back on the old version", "after": original})
        else:
            done.append({"route": route["route"], "changed": None, "found": "changed by someone else; left as it is"})
    return done


def restore_old(plan: Plan, results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each old service back at its remembered count and autoscaling; says its count and target groups."""
    remembered = (records.get(plan.record_key) or {}).get("retired") or {}
    done = []
    for old in (results.get("live") or {}).get("old_services", []):
        name = old["ecs_service"]
        service = ecs.service(plan.cluster, name)
        saved = remembered.get(name) or {}
        if service is None:
            done.append({"ecs_service": name, "changed": None, "found": "service no longer exists",
                         "desired_count": 0, "target_groups": old["target_groups"]})
            continue
        if not ownership.of_service(plan, ecs.tags_of(service)):
            done.append(ownership.left_alone("ecs_service", name, ecs.tags_of(service)))
            continue
        changes, desired = [], service["desiredCount"]
        if desired == 0 and saved.get("desired_count"):
            desired = int(saved["desired_count"])
            ecs.set_desired(plan.cluster, name, desired)
            changes.append(f"desired count 0 -> {desired}")
        if saved.get("autoscaling") and autoscaling.snapshot(plan.cluster, name) is None:
            autoscaling.restore(plan.cluster, name, saved["autoscaling"])
            changes.append("autoscaling restored")
        done.append({"ecs_service": name, "changed": "; ".join(changes) or None,
                     "desired_count": desired, "target_groups": old["target_groups"]})
    return done


def restore(event: StepEvent) -> Undone:
    error, cause = what_happened(event.raw.get("failure") or {}, event.plan, event.results)
    record_count("Rollbacks")
    return Undone(Error=error, Cause=cause, old_services=restore_old(event.plan, event.results))


def put_traffic_back(plan: Plan, results: dict[str, Any], old_services: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """Once the old version is healthy: (what was done in words, the report) of putting every public
    rule back and tearing the new version down."""
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
