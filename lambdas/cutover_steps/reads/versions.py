"""The versions of a service, found by their tags: what CleanUp, the obsolete mark and `cutover plan`
decide from (`cutover_steps.decisions.obsolete_mark`).

Everything is read in one query: one Resource Groups Tagging API query returns this env+service's
ECS services and target groups, marked or not, with their tags, so finding the versions costs the
same in a cluster of ten services or of thousands. Only when one of them carries the mark does ECS
confirm them (10 at a time): which are still there and marked, and which revisions the versions
that stay run.
"""
from __future__ import annotations

from typing import Any

from cutover_steps.adapters import ecs, tagging
from cutover_steps.decisions import ownership
from cutover_steps.decisions.obsolete_mark import SINCE, Versions
from cutover_steps.plan.view import PlanView as Plan


def found(plan: Plan) -> Versions:
    versions = Versions(dict(tagging.resources({ownership.SERVICE: [plan.service], ownership.ENV: [plan.env]},
                                               ["ecs:service", "elasticloadbalancing:targetgroup"])))
    services = list(versions.service_arns(plan.cluster).values())
    if any(SINCE in versions.tags[arn] for arn in services):
        versions.described = {s["serviceName"]: s for s in ecs.describe_many(plan.cluster, services)}
    return versions


def described(plan: Plan, versions: Versions, services: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The services (name → ARN) as ECS describes them: from what the query's confirmation read
    already, ECS asked only for the others (none when there are none)."""
    known = {name: versions.described[name] for name in services if name in versions.described}
    missing = [arn for name, arn in services.items() if name not in known]
    known.update({s["serviceName"]: s for s in ecs.describe_many(plan.cluster, missing)} if missing else {})
    return known


def service_of(plan: Plan, versions: Versions, name: str) -> dict[str, Any] | None:
    """The service `name` as ECS described it in `versions`, else as ECS describes it now (none in a
    cluster that does not exist: a plan for one says so itself)."""
    return versions.described.get(name) or ecs.service_unless_no_cluster(plan.cluster, name)


def retired_service(plan: Plan, versions: Versions, name: str) -> dict[str, Any] | None:
    """A service this release retired, as far as marking it needs (its ARN and tags): the step that
    retired it has just read it from ECS, so the tags found are enough; ECS is asked only when the
    query did not return it."""
    if name in versions.described:
        return versions.described[name]
    arn = versions.service_arns(plan.cluster).get(name)
    if arn is None:
        return ecs.service_unless_no_cluster(plan.cluster, name)
    return {"serviceName": name, "serviceArn": arn, "tags": [{"key": k, "value": v} for k, v in versions.tags[arn].items()]}

