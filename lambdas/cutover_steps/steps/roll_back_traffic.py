"""Put traffic back on the old version after a failure or an alarm while traffic moved.

Two phases, with the state machine's health wait between them, so that no rule ever forwards to
a version that cannot serve: `restore` gives the old service its count and autoscaling back;
`traffic`, once the old version is healthy, puts every public rule back on what the release read
before it changed anything, unless someone else changed the rule meanwhile (then it is left
alone and said so), and tears the new version down like a failed preparation. What to do is
decided in `cutover_steps.decisions.compensation` from what was read; this module applies it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cutover_steps.decisions import descriptions, compensation, ownership
from cutover_steps.adapters import autoscaling, ecs, elbv2, records
from cutover_steps.decisions.intent import Intent
from cutover_steps.plan.view import PlanView as Plan
from cutover_steps.results import Undone
from cutover_steps.runtime.earlier_results import EarlierResults
from cutover_steps.runtime.protocol import StepProtocol
from cutover_steps.runtime.step import StepEvent, record_count
from cutover_steps.steps import tear_down_prepared
from cutover_steps.steps.tear_down_prepared import describe, what_happened


@dataclass(frozen=True)
class OldFound:
    """An old service as the restore read it, with what its retirement remembered."""
    name: str
    service: dict[str, Any] | None
    saved: dict[str, Any]
    snapshot: dict[str, Any] | None
    target_groups: list[str]


@dataclass(frozen=True)
class Found:
    phase: str
    olds: list[OldFound] = field(default_factory=list)
    # Route name -> its public rule's description (the traffic phase).
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    # What the teardown of the new version finds once the rules are back: read in `apply`, after them
    # (whether the version still serves public traffic decides it); made in `project` for a plan.
    teardown: tear_down_prepared.Found | None = None


@dataclass(frozen=True)
class Decided:
    phase: str
    olds: list[tuple[OldFound, Intent]]
    rules: list[tuple[dict[str, Any], Intent]]
    found: Found
    teardown: tear_down_prepared.Decided | None = None
    refusal: None = None

    @property
    def intents(self) -> list[Intent]:
        return [*(i for _, i in self.olds), *(i for _, i in self.rules), *(self.teardown.intents if self.teardown else [])]


def read_olds(plan: Plan, results: EarlierResults) -> list[OldFound]:
    remembered = (records.get(plan.record_key) or {}).get("retired") or {}
    olds = []
    for old in results.live.old_services:
        name = old["ecs_service"]
        service, saved = ecs.service(plan.cluster, name), remembered.get(name) or {}
        # The scalable target is read only when one was remembered: otherwise there is none to restore.
        ours = service is not None and ownership.of_service(plan, descriptions.tags_of(service))
        snapshot = autoscaling.snapshot(plan.cluster, name) if ours and saved.get("autoscaling") else None
        olds.append(OldFound(name, service, saved, snapshot, old["target_groups"]))
    return olds


def read(event: StepEvent) -> Found:
    if event.raw.get("phase") == "restore":
        return Found("restore", olds=read_olds(event.plan, event.results))
    return Found("traffic", rules={route["route"]: elbv2.rule(route["rule"]) for route in event.results.live.routes})


def decide(event: StepEvent, found: Found) -> Decided:
    plan, results = event.plan, event.results
    olds = olds_back(plan, found.olds)
    rules = []
    if found.phase == "traffic":
        routes = results.live.routes
        current = {name: descriptions.forward_of(description) for name, description in found.rules.items()}
        rules = list(zip(routes, compensation.public_rules_back(routes, results.traffic.written or {}, current)))
    teardown = tear_down_prepared.decide(event, found.teardown) if found.teardown else None
    return Decided(found.phase, olds, rules, found, teardown)


def project(event: StepEvent) -> Found:
    """What the rollback would read after the steps whose results the event holds: each old version as
    its retirement left it (at zero, its autoscaling parked) or as it serves; each public rule as the
    shift left it; and, once they are back, the new version as its preparation left it."""
    plan, results = event.plan, event.results
    retired = {r["ecs_service"]: r for r in results.retire.retired}
    olds = []
    for old in results.live.old_services:
        gone = retired.get(old["ecs_service"])
        tags = [{"key": k, "value": v} for k, v in plan.tags(version=old["version"] or "").items()]
        service = {"serviceName": old["ecs_service"], "status": "ACTIVE", "tags": tags,
                   "desiredCount": 0 if gone else (old.get("desired_count") or 1)}
        saved = {"desired_count": gone.get("desired_count_before"), "autoscaling": gone.get("autoscaling_before")} if gone else {}
        snapshot = dict(descriptions.PARKED) if gone and gone.get("autoscaling_before") else None
        olds.append(OldFound(old["ecs_service"], service, saved, snapshot, old["target_groups"]))
    if event.raw.get("phase") == "restore":
        return Found("restore", olds=olds)
    written = results.traffic.written or {}
    rules = {route["route"]: tear_down_prepared.forward_description(
        written.get(route["route"]) or route["forward"]) for route in results.live.routes}
    return Found("traffic", rules=rules, teardown=tear_down_prepared.project(event))


def restore_old(plan: Plan, results: EarlierResults | dict[str, Any], put_policies: bool = True) -> list[dict[str, Any]]:
    """Each old service back at its remembered count and autoscaling; says its count and target groups.
    `put_policies` False: a scalable target found gone gets its bounds back but not its policies."""
    results = EarlierResults.of(results)
    olds = read_olds(plan, results)
    return bring_back_olds(plan, olds_back(plan, olds), put_policies)


def olds_back(plan: Plan, olds: list[OldFound]) -> list[tuple[OldFound, Intent]]:
    """Each old version with the decision that brings it back."""
    return [(old, compensation.old_version_back(plan, old.name, old.service, old.saved, old.snapshot)) for old in olds]


def bring_back_olds(plan: Plan, decided: list[tuple[OldFound, Intent]], put_policies: bool = True) -> list[dict[str, Any]]:
    done = []
    for old, intent in decided:
        if compensation.left_alone(intent):
            done.append({"ecs_service": old.name, "changed": None, "found": intent.why})
        elif old.service is None:
            done.append({"ecs_service": old.name, "changed": None, "found": intent.why, "desired_count": 0,
                         "target_groups": old.target_groups})
        else:
            done.append({"ecs_service": old.name, "changed": bring_back(plan, old.name, intent,
                                                                       put_policies=put_policies and old.snapshot is None),
                         "desired_count": intent.after["desired_count"], "target_groups": old.target_groups})
    return done


def rules_back(decided: list[tuple[dict[str, Any], Intent]], described: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    done = []
    for route, intent in decided:
        if intent.acts:
            elbv2.set_forward(intent.name, described[route["route"]], intent.after)
            done.append({"route": route["route"], "changed": intent.why, "after": intent.after})
        else:
            done.append({"route": route["route"], "changed": None, "found": intent.why})
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


def put_traffic_back(plan: Plan, results: EarlierResults | dict[str, Any], old_services: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """Once the old version is healthy: (what was done in words, the report) of putting every public
    rule back and tearing the new version down."""
    event = StepEvent(raw={"plan": plan.model_dump(), "phase": "traffic"}, results=EarlierResults.of(results))
    return traffic_back(event, decide(event, read(event)), old_services)


def traffic_back(event: StepEvent, decided: Decided, old_services: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    rules = rules_back(decided.rules, decided.found.rules)
    new = tear_down_prepared.tear_down(event.plan, event.results)
    left = [r["route"] for r in rules if r.get("found", "").startswith("changed by someone")]
    summary = f"public rules back on the old version ({len(rules) - len(left)} of {len(rules)})"
    if left:
        summary += f"; left alone, changed by someone else: {', '.join(left)}"
    summary += f"; old service restored and healthy; new version: {describe(new)}"
    return summary, {"rules": rules, "old_services": old_services, "new_version": new}


def apply(event: StepEvent, decided: Decided) -> Undone:
    error, cause = what_happened(event.raw.get("failure") or {}, event.plan, event.results)
    if decided.phase == "restore":
        record_count("Rollbacks")
        return Undone(Error=error, Cause=cause, old_services=bring_back_olds(event.plan, decided.olds))
    summary, undone = traffic_back(event, decided, (event.raw.get("rollback") or {}).get("old_services", []))
    return Undone(Error=error, Cause=f"{cause} | Rolled back: {summary}.", undone=undone)


def expect(event: StepEvent, decided: Decided) -> Undone:
    """Nothing runs after the undo that reads its result: what it decided stands for what it did."""
    return Undone(undone={"decided": [intent.as_dict() for intent in decided.intents]})


STEP = StepProtocol(read, decide, apply, expect, project=project)
handler = STEP.handler()
