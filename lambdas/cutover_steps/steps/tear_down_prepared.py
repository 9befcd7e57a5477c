"""Undo a release that failed before public traffic moved: the public rules are never touched.

The preparing rules go back to what they forwarded to before, the new version's service is
scaled to zero (its scalable target removed first) and marked obsolete, or deleted when the
config says so. A version that a public rule still forwards to is never scaled down. What to do
is decided in `cutover_steps.decisions.compensation` from what this module read; then it applies it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cutover_steps.decisions import descriptions, compensation, ownership
from cutover_steps.adapters import autoscaling, ecs, elbv2
from cutover_steps.decisions.intent import Intent
from cutover_steps.plan.view import TAG_PREFIX, PlanView as Plan, RoutePlanView as RoutePlan
from cutover_steps.reads import target_groups
from cutover_steps.results import Undone, split_message
from cutover_steps.runtime.earlier_results import EarlierResults
from cutover_steps.runtime.protocol import StepProtocol
from cutover_steps.runtime.step import StepEvent, record_count
from cutover_steps.steps import obsolete


def prepared_found(plan: Plan) -> compensation.PreparedFound:
    """This version's target groups (by their names and tags), and, when it has some, the preparing
    and public rules; then its service and scalable target, unless public traffic reaches it."""
    found = compensation.PreparedFound()
    for route in plan.routes:
        group, tags = target_groups.found(route.target_group_name)
        if not group:
            continue
        if ownership.of_version(plan, tags, route.route.name):
            found.groups[route.target_group_name], found.group_tags[route.target_group_name] = group, tags
        else:
            found.foreign[route.target_group_name] = tags
    if found.groups:
        found.preparing = {r.route.name: elbv2.rule(r.route.preparing_rule_arn) for r in plan.routes}
        found.publicly_live = any(set(descriptions.forward_of(elbv2.rule(r.route.public_rule_arn))) & found.arns for r in plan.routes)
        if found.publicly_live:
            return found
    found.service = ecs.service(plan.cluster, plan.ecs_service)
    if found.service is not None and ownership.of_version(plan, descriptions.tags_of(found.service)):
        found.snapshot = autoscaling.snapshot(plan.cluster, plan.ecs_service)
    return found


@dataclass(frozen=True)
class Found:
    prepared: compensation.PreparedFound
    # When the version is marked obsolete, if it is.
    now: str


@dataclass(frozen=True)
class Decided:
    # Each preparing rule's, in the plan's route order; none when no group of this version exists.
    rules: list[Intent]
    # The prepared version's: its service, its target groups, its obsolete mark.
    version: list[Intent]
    found: compensation.PreparedFound
    refusal: None = None

    @property
    def intents(self) -> list[Intent]:
        return [*self.rules, *self.version]


def read(event: StepEvent) -> Found:
    return Found(prepared_found(event.plan), obsolete.now())


def decide(event: StepEvent, found: Found) -> Decided:
    plan, prepared = event.plan, found.prepared
    before = {r["route"]: r.get("before") or {} for r in event.results.preparing.rules}
    rules = compensation.preparing_rules_back(plan, prepared, before) if prepared.groups else []
    return Decided(rules, compensation.prepared_version(plan, prepared, found.now), prepared)


def undo(plan: Plan, decided: Decided) -> dict[str, Any]:
    """Make the calls decided; the teardown's report."""
    return {"preparing_rules": [put_back(route, decided.found, intent) for route, intent in zip(plan.routes, decided.rules)],
            **apply_version(plan, decided.found, decided.version)}


def tear_down(plan: Plan, results: EarlierResults | dict[str, Any]) -> dict[str, Any]:
    """Read, decide and undo: the teardown the rollback and the undo of a stopped release run too."""
    event = StepEvent(raw={"plan": plan.model_dump()}, results=EarlierResults.of(results))
    return undo(plan, decide(event, read(event)))


def project(event: StepEvent) -> Found:
    """What the teardown would read after the steps whose results the event holds, as those results
    say: this version's target groups (each created by this release, or found from an earlier one),
    the preparing rules forwarding to them, its service with its autoscaling. A group not created yet
    has no ARN: its name stands for it."""
    plan, results = event.plan, event.results
    found = compensation.PreparedFound()
    routes = {r.route.name: r for r in plan.routes}
    for group in results.target_groups.target_groups:
        route = routes[group["route"]]
        tags = plan.tags(route=route.route.name, **{"ecs-service": plan.ecs_service})
        if not group.get("changed"):
            # Made by an earlier release of this version: ours, not this release's to delete.
            tags = {**tags, f"{TAG_PREFIX}release": "(an earlier release)"}
        found.groups[group["name"]] = {"TargetGroupName": group["name"], "TargetGroupArn": group.get("arn") or group["name"]}
        found.group_tags[group["name"]] = tags
    arns = {g["route"]: g.get("arn") or g["name"] for g in results.target_groups.target_groups}
    for rule in results.preparing.rules:
        forward = {arns[rule["route"]]: 1} if rule.get("changed") else (rule.get("after") or {})
        found.preparing[rule["route"]] = forward_description(forward)
    for route in plan.routes:
        found.preparing.setdefault(route.route.name, forward_description({}))
    service = results.service
    if service.service:
        tags = plan.tags(**({} if service.changed == "created" else {"release": "(an earlier release)"}))
        found.service = {"serviceName": plan.ecs_service, "serviceArn": service.arn or plan.ecs_service, "status": "ACTIVE",
                         "desiredCount": service.desired_count or plan.config.service_settings.desired_count,
                         "tags": [{"key": k, "value": v} for k, v in tags.items()]}
        scaling = (service.autoscaling or {}).get("autoscaling")
        found.snapshot = {"min": scaling["min"], "max": scaling["max"], "suspended": {key: False for key in descriptions.SUSPENDED}} if scaling else None
    return Found(found, "(the time of the failure)")


def forward_description(forward: dict[str, int]) -> dict[str, Any]:
    """A rule's description as DescribeRules gives it, forwarding as `forward` says."""
    return {"Actions": [{"Type": "forward", "ForwardConfig": {
        "TargetGroups": [{"TargetGroupArn": arn, "Weight": weight} for arn, weight in forward.items()]}}]}


def put_back(route: RoutePlan, found: compensation.PreparedFound, intent: Intent) -> dict[str, Any]:
    if not intent.acts:
        return {"route": route.route.name, "changed": None, "found": intent.why}
    elbv2.set_forward(intent.name, found.preparing[route.route.name], intent.after)
    return {"route": route.route.name, "changed": intent.why, "after": intent.after}


def apply_version(plan: Plan, found: compensation.PreparedFound, intents: list[Intent]) -> dict[str, Any]:
    """Make the calls the teardown decided, in its order, and report them."""
    report: dict[str, Any] = {}
    doomed_groups = {}
    for intent in intents:
        if compensation.left_alone(intent):
            kind = "target_group" if intent.resource == compensation.TARGET_GROUP else "ecs_service"
            report.setdefault("left_alone", []).append({kind: intent.name, "changed": None, "found": intent.why})
        elif intent.resource == compensation.TARGET_GROUP:
            doomed_groups[intent.name] = found.groups[intent.name]
        elif intent.resource == compensation.OBSOLETE_MARK:
            report["obsolete"] = obsolete.apply_mark(plan, found.service, intent, sorted(found.arns))
        elif "service" in report:
            # The service's second decision, once at zero: delete it, or it is being deleted already.
            if intent.acts:
                ecs.delete_service(plan.cluster, plan.ecs_service)
                report["service"]["changed"] = "deleted"
            else:
                report["service"]["found"] = intent.why
        elif found.publicly_live:
            report["service"] = {"changed": None, "found": intent.why}
        else:
            report["service"] = scale_down(plan, found, intent)
    if doomed_groups:
        report["target_groups"] = delete_unused_groups(doomed_groups)
    return report


def scale_down(plan: Plan, found: compensation.PreparedFound, intent: Intent) -> dict[str, Any]:
    if not intent.acts:
        return {"ecs_service": plan.ecs_service, "changed": None, "found": intent.why}
    changes = []
    if found.snapshot is not None and not descriptions.parked(found.snapshot):
        autoscaling.park(plan.cluster, plan.ecs_service)
        changes.append("scalable target parked at 0..0, scaling suspended")
    if found.service["desiredCount"] > 0:
        ecs.set_desired(plan.cluster, plan.ecs_service, 0)
        changes.append(f"desired count {found.service['desiredCount']} -> 0")
    return {"ecs_service": plan.ecs_service, "changed": "; ".join(changes)}


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


def what_happened(failure: dict[str, Any], plan: Plan, results: EarlierResults | dict[str, Any]) -> tuple[str, str]:
    """(error name, the failure in words) for the execution's end.

    A Lambda error's cause is its JSON report: only the message is kept, not the stack. Error
    names starting with "States." are reserved, and a Fail state may not end with them, so
    timeouts and the like get a name of their own.
    """
    results = EarlierResults.of(results)
    error, cause = failure.get("Error") or "ReleaseFailed", failure.get("Cause") or ""
    try:
        reported = json.loads(cause)
    except ValueError:
        reported = None
    if isinstance(reported, dict) and reported.get("errorMessage"):
        cause = split_message(str(reported["errorMessage"]))[0]
    if error == "ApprovalRejected":
        return error, rejection(results.as_sent.approval)
    if error == "AnalysisRejected":
        return error, f"an operator decided that {plan.version} does not go on ({rejection(results.as_sent.analysis_answer)}); {asked(results)}"
    approval = plan.config.release.approval
    watch = results.watch
    # The watch asked and nothing after it answered: the wait that timed out was the operator's answer.
    if error in TIMEOUTS and watch.analysis_ask and not watch.answered:
        return "AnalysisNotAnswered", (
            f"nobody answered in time whether {plan.version} goes on (heartbeat {plan.approval_heartbeat_seconds} s, "
            f"timeout {approval.timeout_seconds} s, approval.timeout_seconds); {asked(results)}"
        )
    # Healthy, no decision recorded and no re-check yet: the wait that timed out was the approval.
    waited_for_approval = (
        plan.action == "release" and approval.mode == "manual" and results.health.healthy
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


def asked(results: EarlierResults) -> str:
    """What the operator was asked about: the inconclusive analysis and its scorecard, as the watch said it."""
    return results.watch.analysis_ask or "the canary analysis was inconclusive"


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


def apply(event: StepEvent, decided: Decided) -> Undone:
    error, cause = what_happened(event.raw.get("failure") or {}, event.plan, event.results)
    record_count("Rollbacks")
    report = undo(event.plan, decided)
    return Undone(Error=error, Cause=f"{cause} | Undone: {describe(report)}. Public traffic was not moved.", undone=report)


def expect(event: StepEvent, decided: Decided) -> Undone:
    """Nothing runs after the undo that reads its result: what it decided stands for what it did."""
    return Undone(undone={"decided": [intent.as_dict() for intent in decided.intents]})


STEP = StepProtocol(read, decide, apply, expect, project=project)
handler = STEP.handler()
