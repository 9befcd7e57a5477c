"""Undo a release that failed before public traffic moved: the public rules are never touched.

The preparing rules go back to what they forwarded to before, the new version's service is
scaled to zero (its scalable target removed first) and marked obsolete, or deleted when the
config says so. A version that a public rule still forwards to is never scaled down.
"""
from __future__ import annotations

import json
from typing import Any

from release import ownership
from release.adapters import autoscaling, ecs, elbv2
from release.plan_view import PlanView as Plan
from release.results import Undone
from release.step import StepEvent, lambda_step, record_count
from release.steps.obsolete import mark


def restore_preparing(plan: Plan, results: dict[str, Any], groups: set[str]) -> list[dict[str, Any]]:
    before = {r["route"]: r.get("before") or {} for r in (results.get("preparing") or {}).get("rules", [])}
    done = []
    for route in plan.routes:
        rule_arn = route.route.preparing_rule_arn
        description = elbv2.rule(rule_arn)
        current = elbv2.forward_of(description)
        previous = {arn: w for arn, w in before.get(route.route.name, {}).items() if arn not in groups}
        if not set(current) & groups:
            done.append({"route": route.route.name, "changed": None, "found": "preparing rule does not forward to the new version"})
        elif not previous:
            done.append({"route": route.route.name, "changed": None, "found": "nothing to put back on the preparing rule; left on the new version"})
        else:
            elbv2.set_forward(rule_arn, description, previous)
            done.append({"route": route.route.name, "changed": "preparing rule put back", "after": previous})
    return done


def publicly_live(plan: Plan, groups: set[str]) -> bool:
    return any(set(elbv2.forward_of(elbv2.rule(r.route.public_rule_arn))) & groups for r in plan.routes)


def owned_groups(plan: Plan) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, str]], list[dict[str, Any]]]:
    """This version's target groups found under its names, their tags, and the ones left alone."""
    found, tags, foreign = {}, {}, []
    for route in plan.routes:
        group = elbv2.target_group_by_name(route.target_group_name)
        if not group:
            continue
        group_tags = elbv2.tags_of([group["TargetGroupArn"]]).get(group["TargetGroupArn"], {})
        if ownership.of_version(plan, group_tags, route.route.name):
            found[route.target_group_name], tags[route.target_group_name] = group, group_tags
        else:
            foreign.append(ownership.left_alone("target_group", route.target_group_name, group_tags))
    return found, tags, foreign


def tear_down(plan: Plan, results: dict[str, Any]) -> dict[str, Any]:
    found_groups, group_tags, foreign = owned_groups(plan)
    groups = {g["TargetGroupArn"] for g in found_groups.values()}
    report: dict[str, Any] = {"preparing_rules": restore_preparing(plan, results, groups) if groups else []}
    if foreign:
        report["left_alone"] = list(foreign)
    if groups and publicly_live(plan, groups):
        report["service"] = {"changed": None, "found": f"{plan.version} serves public traffic; it is kept as it is"}
        return report
    service = ecs.service(plan.cluster, plan.ecs_service)
    if service is not None and not ownership.of_version(plan, ecs.tags_of(service)):
        report.setdefault("left_alone", []).append(ownership.left_alone("ecs_service", plan.ecs_service, ecs.tags_of(service)))
        service = None
    if service is not None:
        changes = []
        if autoscaling.snapshot(plan.cluster, plan.ecs_service) is not None:
            autoscaling.deregister(plan.cluster, plan.ecs_service)
            changes.append("scalable target deregistered")
        if service["desiredCount"] > 0:
            ecs.set_desired(plan.cluster, plan.ecs_service, 0)
            changes.append(f"desired count {service['desiredCount']} -> 0")
        report["service"] = {"ecs_service": plan.ecs_service, "changed": "; ".join(changes) or None}
        if not changes:
            # Said plainly so that a retried undo still tells what state the version is in.
            report["service"]["found"] = "already at zero, no scalable target"
    # Only what this release created is deleted; this version's resources made by an earlier release
    # (a retired version released again) are kept at zero and marked, so a rollback can still use them.
    created_service = service is not None and ownership.created(plan, ecs.tags_of(service))
    created_groups = {n: g for n, g in found_groups.items() if ownership.created(plan, group_tags[n])}
    if plan.config.release.on_prepare_failure == "delete" and plan.action == "release" and (created_service or service is None):
        if service is not None and service.get("status") == "ACTIVE":
            ecs.delete_service(plan.cluster, plan.ecs_service)
            report["service"]["changed"] = "deleted"
        elif service is not None:
            report["service"]["found"] = "already being deleted"
        report["target_groups"] = delete_unused_groups(created_groups)
    elif service is not None:
        report["obsolete"] = mark(plan, plan.ecs_service, sorted(groups))
    elif created_groups:
        # No service was created: nothing would ever find these groups again (cleanup walks the
        # cluster's services), and a new attempt recreates them, so they go now.
        report["target_groups"] = delete_unused_groups(created_groups)
    return report


def delete_unused_groups(found_groups: dict[str, dict[str, Any]]) -> dict[str, Any]:
    deleted, kept = [], []
    for name in sorted(found_groups):
        # Read again: the preparing rules were just put back, which frees the group.
        group = elbv2.target_group_by_name(name)
        if group and group.get("LoadBalancerArns"):
            kept.append(name)
        elif group:
            elbv2.delete_target_group(group["TargetGroupArn"])
            deleted.append(name)
    return {"changed": "deleted" if deleted else None, "names": deleted,
            "found": f"still used by a load balancer, kept: {kept}" if kept else None}


TIMEOUTS = ("States.Timeout", "States.HeartbeatTimeout")


def what_happened(failure: dict[str, Any], plan: Plan, results: dict[str, Any]) -> tuple[str, str]:
    """(error name, the failure in words) for the execution's end.

    A Lambda error's cause is its JSON report: only the message is kept, not the stack. Error
    names starting with "States." are reserved, and a Fail state may not end with them, so
    timeouts and the like get a name of their own.
    """
    error, cause = failure.get("Error") or "ReleaseFailed", failure.get("Cause") or ""
    try:
        reported = json.loads(cause)
    except ValueError:
        reported = None
    if isinstance(reported, dict) and reported.get("errorMessage"):
        cause = str(reported["errorMessage"])
    if error == "ApprovalRejected":
        return error, rejection(results.get("approval"))
    approval = plan.config.release.approval
    # Healthy, no decision recorded and no re-check yet: the wait that timed out was the approval.
    waited_for_approval = (
        plan.action == "release" and approval.mode == "manual" and (results.get("health") or {}).get("healthy")
        and "approval" not in results and "recheck" not in results
    )
    if error in TIMEOUTS and waited_for_approval:
        return "ApprovalTimedOut", (
            f"nobody approved or rejected {plan.version} in time (heartbeat {plan.approval_heartbeat_seconds} s, "
            f"timeout {approval.timeout_seconds} s)"
        )
    if error in TIMEOUTS:
        return "StepTimedOut", f"a step did not finish in time ({error}){': ' + cause if cause else ''}"
    if error.startswith("States."):
        return "ReleaseFailed", f"{error}{': ' + cause if cause else ''}"
    return error, cause or error


def rejection(answer: Any) -> str:
    """Who rejected and why, from the answer as sent: the console may send one without either."""
    if not isinstance(answer, dict) or answer.get("decision") not in ("approve", "reject"):
        return f"the approval answer {json.dumps(answer)[:200]} is neither an approval nor a rejection; it counts as a rejection"
    by = answer.get("by") or "someone who did not give a name"
    reason = answer.get("reason") or answer.get("comment") or "no reason given"
    return f"Rejected by {by}: {reason}"


def describe(report: dict[str, Any]) -> str:
    parts = []
    for rule in report.get("preparing_rules", []):
        if rule.get("changed"):
            parts.append(f"route {rule['route']}: {rule['changed']}")
        elif (rule.get("found") or "").startswith("preparing rule does not forward"):
            parts.append(f"route {rule['route']}: preparing rule already off the new version")
    service = report.get("service") or {}
    if service.get("changed") or service.get("found"):
        parts.append(f"service: {service.get('changed') or service.get('found')}")
    obsolete = report.get("obsolete") or {}
    if obsolete.get("changed"):
        parts.append("new version marked obsolete")
    elif (obsolete.get("found") or "").startswith("already obsolete"):
        parts.append("new version already marked obsolete")
    for alone in report.get("left_alone", []):
        parts.append(f"{alone.get('target_group') or alone.get('ecs_service')} {alone['found']}")
    target_groups = report.get("target_groups") or {}
    if target_groups.get("changed"):
        parts.append(f"target groups deleted: {', '.join(target_groups['names'])}")
    if target_groups.get("found"):
        parts.append(f"target groups {target_groups['found']}")
    return "; ".join(parts) or "nothing had been created"


@lambda_step
def handler(event: StepEvent) -> Undone:
    error, cause = what_happened(event.raw.get("failure") or {}, event.plan, event.results)
    record_count("Rollbacks")
    report = tear_down(event.plan, event.results)
    return Undone(Error=error, Cause=f"{cause} | Undone: {describe(report)}. Public traffic was not moved.", undone=report)
