"""Retire the old version: remember its autoscaling, park it, then scale the service to zero.

The scalable target is parked first (bounds 0..0, scaling suspended), or Application Auto Scaling
would put desiredCount back into min..max; parking rather than deregistering keeps every scaling
policy and scheduled action as it is. Its bounds and suspension are written to the release record
before they change, so a rollback (or a crash and retry of this step) can restore them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cutover_steps.adapters import autoscaling, ecs, elbv2, records
from cutover_steps.decisions import descriptions, ownership
from cutover_steps.decisions import forward as decisions
from cutover_steps.decisions.intent import Intent
from cutover_steps.decisions.traffic import unchanged_since
from cutover_steps.errors import RuleDrifted
from cutover_steps.plan.view import PlanView as Plan
from cutover_steps.reads import old_versions
from cutover_steps.results import Retired
from cutover_steps.runtime.protocol import StepProtocol
from cutover_steps.runtime.step import StepEvent


@dataclass(frozen=True)
class Found:
    # Each live route's public rule, by its ARN: what it forwards to now.
    forwards: dict[str, dict[str, int]]
    # Each old version's ECS service name -> (its service, its scalable target), as
    # `reads.old_versions.service_found` reads them.
    services: dict[str, tuple[dict[str, Any] | None, dict[str, Any] | None]]
    # The release record (None: none yet, or not read as no old version is the release's to retire).
    record: dict[str, Any] | None


@dataclass(frozen=True)
class Retirement:
    """One old version: its retirement intent, what the record then remembers of it, and the step's
    result entry for it."""
    old: dict[str, Any]
    service: dict[str, Any] | None
    snapshot: dict[str, Any] | None
    intent: Intent
    # The record's whole `retired` map to write before anything of this version changes (None: no write).
    writes: dict[str, Any] | None
    # Its scalable target as it is, to park (None: none, or parked already).
    park: dict[str, Any] | None
    # Whether its service is scaled to zero (one of the release's own, not at zero yet).
    to_zero: bool
    result: dict[str, Any]

    @property
    def shown(self) -> dict[str, Any]:
        """Its entry in `cutover plan`'s `retire` list (the obsolete mark is CleanUp's)."""
        return {"ecs_service": self.old["ecs_service"], "version": self.old["version"],
                "desired_count": self.service["desiredCount"] if self.service else None,
                "autoscaling": self.snapshot, "changed": self.intent.acts}


@dataclass(frozen=True)
class Decided:
    retirements: list[Retirement]
    # A public rule that no longer holds what this release wrote there (RuleDrifted): nothing retires.
    refusal: RuleDrifted | None

    @property
    def intents(self) -> list[Intent]:
        return [r.intent for r in self.retirements]

    @property
    def retire(self) -> list[dict[str, Any]]:
        return [r.shown for r in self.retirements]


def olds(event: StepEvent) -> list[dict[str, Any]]:
    """The old versions behind the public rules, never the one being released."""
    return [o for o in event.results.live.old_services if o["ecs_service"] != event.plan.ecs_service]


def read(event: StepEvent) -> Found:
    plan = event.plan
    forwards = {route["rule"]: descriptions.forward_of(elbv2.rule(route["rule"])) for route in event.results.live.routes}
    services = {old["ecs_service"]: old_versions.service_found(plan, old["ecs_service"]) for old in olds(event)}
    # What an earlier attempt remembered: read only when some old version is the release's to retire.
    mine = any(s is not None and ownership.of_service(plan, descriptions.tags_of(s)) for s, _ in services.values())
    # (A plan for an account with no release table yet has no record to read.)
    return Found(forwards, services, records.get(plan.record_key) if mine and records.known() else None)


def decide(event: StepEvent, found: Found) -> Decided:
    plan = event.plan
    # The old version goes to zero only while the public rules still hold what this release wrote.
    previous = event.results.traffic.to_json()
    refusal = None
    # A plan's rules hold what they hold now, not yet what its planned shift would write there.
    for route in [] if event.results.traffic.planned else event.results.live.routes:
        try:
            unchanged_since(route, found.forwards[route["rule"]], previous)
        except RuleDrifted as drifted:
            refusal = drifted
            break
    retired = dict((found.record or {}).get("retired") or {})
    retirements = []
    for old in olds(event):
        retirement = retiring(plan, old, *found.services[old["ecs_service"]], retired)
        if retirement.writes is not None:
            retired = retirement.writes
        retirements.append(retirement)
    return Decided(retirements, refusal)


def retiring(plan: Plan, old: dict[str, Any], service: dict[str, Any] | None, snapshot: dict[str, Any] | None,
             retired: dict[str, Any]) -> Retirement:
    name = old["ecs_service"]
    intent = decisions.retirement(plan, old, service, snapshot)
    if service is None:
        result = {"ecs_service": name, "version": old["version"], "changed": None, "found": intent.why}
        return Retirement(old, service, snapshot, intent, None, None, False, result)
    if not ownership.of_service(plan, descriptions.tags_of(service)):
        result = {**ownership.left_alone("ecs_service", name, descriptions.tags_of(service)), "version": old["version"]}
        return Retirement(old, service, snapshot, intent, None, None, False, result)
    remembered = retired.get(name) or {}
    writes = None
    # A parked target is this step's own doing (a re-run): what to restore is what was remembered.
    live = None if descriptions.parked(snapshot) else snapshot
    if intent.acts:
        remembered = {
            # Which release retired it: a re-run of the same release that finds nothing left to
            # retire records this entry as its `previous`; entries of earlier releases are stale.
            "release": plan.release_id,
            "version": old["version"],
            "desired_count": service["desiredCount"] or remembered.get("desired_count", 0),
            "autoscaling": live or remembered.get("autoscaling"),
        }
        writes = {**retired, name: remembered}
    changes = []
    if live is not None:
        changes.append(f"scalable target min {live['min']} max {live['max']} parked at 0..0, scaling suspended")
    if service["desiredCount"] > 0:
        changes.append(f"desired count {service['desiredCount']} -> 0")
    result = {
        "ecs_service": name,
        "version": old["version"],
        "desired_count_before": remembered.get("desired_count"),
        "autoscaling_before": remembered.get("autoscaling") and {k: remembered["autoscaling"][k] for k in ("min", "max")},
        "changed": "; ".join(changes) or None,
        "found": None if changes else intent.why,
    }
    return Retirement(old, service, snapshot, intent, writes, live, service["desiredCount"] > 0, result)


def apply(event: StepEvent, decided: Decided) -> Retired:
    plan = event.plan
    if not decided.retirements:
        return Retired([], found="no old version to retire")
    for retirement in decided.retirements:
        name = retirement.old["ecs_service"]
        # Remembered first, then parked, then scaled to zero: a crash in between leaves what to restore.
        if retirement.writes is not None:
            records.update(plan.record_key, {"retired": retirement.writes})
        if retirement.park is not None:
            autoscaling.park(plan.cluster, name)
        if retirement.to_zero:
            ecs.set_desired(plan.cluster, name, 0)
    return expect(event, decided)


def expect(event: StepEvent, decided: Decided) -> Retired:
    if not decided.retirements:
        return Retired([], found="no old version to retire")
    return Retired([r.result for r in decided.retirements])


STEP = StepProtocol(read, decide, apply, expect)
handler = STEP.handler()
