"""The obsolete mark: the tags a retired version's service and target groups get so that a later
release deletes it, finding the versions of a service that carry it, and the one an earlier release
retired but left unmarked. CleanUp deletes what carries it, then sets it on the version retired now;
`cutover plan` shows what would go and what would be marked.

Decided here from what `cutover_steps.reads.versions` found (one tagging query, confirmed by ECS),
with no call.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cutover_steps.decisions import ownership
from cutover_steps.decisions.descriptions import is_service_of, tags_of, target_group_arns
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
        return {arn.rsplit("/", 1)[-1]: arn for arn in self.tags if is_service_of(arn, cluster)}


def obsolete_versions(plan: Plan, found: Versions) -> list[dict[str, Any]]:
    """This env+service's obsolete versions in the plan's cluster, oldest first."""
    versions = []
    for service in found.described.values():
        tags = tags_of(service)
        # The tagging API is eventually consistent: ECS's own answer decides.
        if service.get("status") != "ACTIVE" or not ownership.of_service(plan, tags) or SINCE not in tags:
            continue
        version = tags.get(ownership.VERSION)
        versions.append({
            "service_tags": tags, "ecs_service": service["serviceName"], "version": version,
            "since": tags[SINCE], "by": tags.get(BY), "task_definition": service.get("taskDefinition"),
            # Its target groups that carry the mark of the same version (marked before the service).
            "target_groups": [arn for arn in target_group_arns(service)
                              if SINCE in found.tags.get(arn, {}) and found.tags[arn].get(ownership.VERSION) == version],
        })
    return sorted(versions, key=lambda v: v["since"])


def revisions_in_use(found: Versions, leaving: set[str]) -> set[str]:
    """The revisions that the versions of this env's service staying after cleanup run."""
    return {s["taskDefinition"] for name, s in found.described.items()
            if s.get("status") in ("ACTIVE", "DRAINING") and name not in leaving and s.get("taskDefinition")}


def unmarked(plan: Plan, retired_now: set[str], found: Versions) -> dict[str, str]:
    """Service name → ARN of the versions an earlier release may have retired but not marked, by the
    query's tags: this env+service's services without the mark other than the one released and those
    retired now. ECS confirms them (`left_unmarked`)."""
    return {name: arn for name, arn in found.service_arns(plan.cluster).items()
            if name != plan.ecs_service and name not in retired_now
            and SINCE not in found.tags[arn] and ownership.of_service(plan, found.tags[arn])}


def left_unmarked(plan: Plan, described: dict[str, dict[str, Any]]) -> list[str]:
    """The versions an earlier release retired but could not mark: of the `unmarked` ones, as ECS
    describes them (`described`, by name), those still there, ours and at zero."""
    return sorted(name for name, s in described.items()
                  if s.get("status") == "ACTIVE" and s["desiredCount"] == 0
                  and SINCE not in tags_of(s) and ownership.of_service(plan, tags_of(s)))
