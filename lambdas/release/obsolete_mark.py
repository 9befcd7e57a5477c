"""The obsolete mark: the tags a retired version's service and target groups get so that a later
release deletes it, finding the versions of a service that carry it, and the one an earlier release
retired but left unmarked. CleanUp deletes what carries it, then sets it on the version retired now;
`cutover plan` shows what would go and what would be marked.
"""
from __future__ import annotations

from typing import Any

from release import ownership
from release.adapters import ecs, records, tagging
from release.plan_view import TAG_PREFIX, PlanView as Plan

SINCE = f"{TAG_PREFIX}obsolete-since"
BY = f"{TAG_PREFIX}obsoleted-by"


def obsolete_versions(plan: Plan) -> list[dict[str, Any]]:
    """This env+service's obsolete versions in the plan's cluster, oldest first."""
    found = dict(tagging.resources({SINCE: None, ownership.SERVICE: [plan.service], ownership.ENV: [plan.env]},
                                   ["ecs:service", "elasticloadbalancing:targetgroup"]))
    services = [arn for arn in found if ecs.is_service_of(arn, plan.cluster)]
    versions = []
    for service in ecs.describe_many(plan.cluster, services):
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
                              if found.get(arn, {}).get(ownership.VERSION) == version],
        })
    return sorted(versions, key=lambda v: v["since"])


def left_unmarked(plan: Plan, retired_now: set[str]) -> list[str]:
    """The record's previous version, when an earlier release retired it but could not mark it."""
    previous = ((records.get(plan.record_key) or {}).get("previous") or {}).get("ecs_service")
    if not previous or previous == plan.ecs_service or previous in retired_now:
        return []
    service = ecs.service(plan.cluster, previous)
    if service is None or service["desiredCount"] > 0 or SINCE in ecs.tags_of(service):
        return []
    return [previous]
