"""Retire the old version: remember its autoscaling, park it, then scale the service to zero.

The scalable target is parked first (bounds 0..0, scaling suspended), or Application Auto Scaling
would put desiredCount back into min..max; parking rather than deregistering keeps every scaling
policy and scheduled action as it is. Its bounds and suspension are written to the release record
before they change, so a rollback (or a crash and retry of this step) can restore them.
"""
from __future__ import annotations

from typing import Any

from cutover_steps.decisions import descriptions, ownership
from cutover_steps.adapters import autoscaling, ecs, elbv2, records
from cutover_steps.decisions import forward as decisions
from cutover_steps.reads import old_versions
from cutover_steps.plan.view import PlanView as Plan
from cutover_steps.results import Retired
from cutover_steps.runtime.step import StepEvent, lambda_step
from cutover_steps.decisions.traffic import unchanged_since


def retire(plan: Plan, old: dict[str, Any]) -> dict[str, Any]:
    name = old["ecs_service"]
    service, snapshot = old_versions.service_found(plan, name)
    intent = decisions.retirement(plan, old, service, snapshot)
    if service is None:
        return {"ecs_service": name, "version": old["version"], "changed": None, "found": intent.why}
    if not ownership.of_service(plan, descriptions.tags_of(service)):
        return {**ownership.left_alone("ecs_service", name, descriptions.tags_of(service)), "version": old["version"]}
    record = records.get(plan.record_key) or {}
    remembered = (record.get("retired") or {}).get(name) or {}
    changes = []
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
        records.update(plan.record_key, {"retired": {**(record.get("retired") or {}), name: remembered}})
    if live is not None:
        autoscaling.park(plan.cluster, name)
        changes.append(f"scalable target min {live['min']} max {live['max']} parked at 0..0, scaling suspended")
    if service["desiredCount"] > 0:
        ecs.set_desired(plan.cluster, name, 0)
        changes.append(f"desired count {service['desiredCount']} -> 0")
    return {
        "ecs_service": name,
        "version": old["version"],
        "desired_count_before": remembered.get("desired_count"),
        "autoscaling_before": remembered.get("autoscaling") and {k: remembered["autoscaling"][k] for k in ("min", "max")},
        "changed": "; ".join(changes) or None,
        "found": None if changes else intent.why,
    }


@lambda_step
def handler(event: StepEvent) -> Retired:
    plan = event.plan
    # The old version goes to zero only while the public rules still hold what this release wrote.
    previous = event.results.traffic.to_json()
    for route in event.results.live.routes:
        unchanged_since(route, descriptions.forward_of(elbv2.rule(route["rule"])), previous)
    olds = [o for o in event.results.live.old_services if o["ecs_service"] != plan.ecs_service]
    if not olds:
        return Retired([], found="no old version to retire")
    return Retired([retire(plan, old) for old in olds])
