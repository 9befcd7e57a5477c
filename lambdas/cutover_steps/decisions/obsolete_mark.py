"""The obsolete mark: the tags a retired version's service and target groups get so that a later
release deletes it, finding the versions of a service that carry it, and the one an earlier release
retired but left unmarked. CleanUp deletes what carries it, then sets it on the version retired now;
`cutover plan` shows what would go and what would be marked.

Everything is read in one query: one Resource Groups Tagging API query returns this env+service's
ECS services and target groups, marked or not, with their tags, so finding the versions costs the
same in a cluster of ten services or of thousands. Only when one of them carries the mark does ECS
confirm them (10 at a time): which are still there and marked, and which revisions the versions
that stay run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cutover_steps.decisions import ownership
from cutover_steps.adapters import ecs, tagging
from cutover_steps.plan.view import TAG_PREFIX, PlanView as Plan

SINCE = f"{TAG_PREFIX}obsolete-since"
BY = f"{TAG_PREFIX}obsoleted-by"


@dataclass
class Versions:
    """This env+service's services and target groups as the tagging API gives them (ARN → tags),
    and ECS's own description of its services in the plan's cluster, read when any is marked."""

    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    described: dict[str, dict[str, Any]] = field(default_factory=dict)

    def service_arns(self, cluster: str) -> dict[str, str]:
        """Service name → ARN, for the services in `cluster`."""
        return {arn.rsplit("/", 1)[-1]: arn for arn in self.tags if ecs.is_service_of(arn, cluster)}


def versions_found(plan: Plan) -> Versions:
    found = Versions(dict(tagging.resources({ownership.SERVICE: [plan.service], ownership.ENV: [plan.env]},
                                            ["ecs:service", "elasticloadbalancing:targetgroup"])))
    services = list(found.service_arns(plan.cluster).values())
    if any(SINCE in found.tags[arn] for arn in services):
        found.described = {s["serviceName"]: s for s in ecs.describe_many(plan.cluster, services)}
    return found


def obsolete_versions(plan: Plan, found: Versions) -> list[dict[str, Any]]:
    """This env+service's obsolete versions in the plan's cluster, oldest first."""
    versions = []
    for service in found.described.values():
        tags = ecs.tags_of(service)
        # The tagging API is eventually consistent: ECS's own answer decides.
        if service.get("status") != "ACTIVE" or not ownership.of_service(plan, tags) or SINCE not in tags:
            continue
        version = tags.get(ownership.VERSION)
        versions.append({
            "service_tags": tags, "ecs_service": service["serviceName"], "version": version,
            "since": tags[SINCE], "by": tags.get(BY), "task_definition": service.get("taskDefinition"),
            # Its target groups that carry the mark of the same version (marked before the service).
            "target_groups": [arn for arn in ecs.target_group_arns(service)
                              if SINCE in found.tags.get(arn, {}) and found.tags[arn].get(ownership.VERSION) == version],
        })
    return sorted(versions, key=lambda v: v["since"])


def revisions_in_use(found: Versions, leaving: set[str]) -> set[str]:
    """The revisions that the versions of this env's service staying after cleanup run."""
    return {s["taskDefinition"] for name, s in found.described.items()
            if s.get("status") in ("ACTIVE", "DRAINING") and name not in leaving and s.get("taskDefinition")}


def service_of(plan: Plan, found: Versions, name: str) -> dict[str, Any] | None:
    """The service `name` as ECS described it in `found`, else as ECS describes it now."""
    return found.described.get(name) or ecs.service(plan.cluster, name)


def retired_service(plan: Plan, found: Versions, name: str) -> dict[str, Any] | None:
    """A service this release retired, as far as marking it needs (its ARN and tags): the step that
    retired it has just read it from ECS, so the tags found are enough; ECS is asked only when the
    query did not return it."""
    if name in found.described:
        return found.described[name]
    arn = found.service_arns(plan.cluster).get(name)
    if arn is None:
        return ecs.service(plan.cluster, name)
    return {"serviceName": name, "serviceArn": arn, "tags": [{"key": k, "value": v} for k, v in found.tags[arn].items()]}


def left_unmarked(plan: Plan, retired_now: set[str], found: Versions) -> list[str]:
    """The versions an earlier release retired but could not mark: this env+service's services without
    the mark other than the one released and those retired now (by the query's tags), that ECS
    confirms ours and at zero. Asked of ECS only when the tags show one."""
    unmarked = {name: arn for name, arn in found.service_arns(plan.cluster).items()
                if name != plan.ecs_service and name not in retired_now
                and SINCE not in found.tags[arn] and ownership.of_service(plan, found.tags[arn])}
    described = {name: found.described[name] for name in unmarked if name in found.described}
    missing = [arn for name, arn in unmarked.items() if name not in described]
    described.update({s["serviceName"]: s for s in ecs.describe_many(plan.cluster, missing)} if missing else {})
    return sorted(name for name, s in described.items()
                  if s.get("status") == "ACTIVE" and s["desiredCount"] == 0
                  and SINCE not in ecs.tags_of(s) and ownership.of_service(plan, ecs.tags_of(s)))
