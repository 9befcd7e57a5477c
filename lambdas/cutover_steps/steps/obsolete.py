"""Mark versions obsolete (service and target groups tagged) so that a later release deletes them:
the version a release retired (by the cleanup step, once it has deleted what earlier releases
marked), and the new version of a release that was undone.

Besides the version retired now, a version of the service that sits retired at zero and unmarked
is marked too: an earlier release whose own marking failed (a warning, not a failure) is finished
this way.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from cutover_steps.decisions import descriptions, forward as decisions, ownership
from cutover_steps.adapters import ecs, elbv2
from cutover_steps.decisions.intent import Intent
from cutover_steps.decisions import obsolete_mark
from cutover_steps.decisions.obsolete_mark import Versions
from cutover_steps.plan.view import PlanView as Plan
from cutover_steps.runtime.earlier_results import EarlierResults
from cutover_steps.reads import versions


def mark(plan: Plan, ecs_service: str, target_groups: list[str], found: Versions) -> dict[str, Any]:
    """Mark a version: one this release retired comes with its target groups (ReadLiveRoutes found
    them ours), whose service the query's tags describe enough; another is read from ECS."""
    service = (versions.retired_service if target_groups else versions.service_of)(plan, found, ecs_service)
    return apply_mark(plan, service, decisions.obsolete_mark(plan, ecs_service, service, now()), target_groups, found.tags)


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def apply_mark(plan: Plan, service: dict[str, Any] | None, intent: Intent, target_groups: list[str],
               known_tags: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
    """Tag the service and its target groups (`target_groups`, or those it is wired to) as decided.
    Their tags are read, unless `known_tags` gives every target group of this env+service (cleanup's
    one query): a group it lacks is not tagged as ours, so it is not marked."""
    if not intent.acts:
        return {"ecs_service": intent.name, "changed": None, "found": intent.why}
    # Target groups first: cleanup finds versions through their target groups' tags.
    arns = target_groups or descriptions.target_group_arns(service)
    # The versions cleanup marks were made by earlier releases, long enough ago for the tagging API
    # (eventually consistent) to list their groups; at worst a group is left unmarked, never deleted.
    group_tags = known_tags if known_tags is not None else (elbv2.tags_of(arns) if arns else {})
    for arn in arns:
        if ownership.of_service(plan, group_tags.get(arn, {})):
            elbv2.add_tags(arn, intent.after)
    ecs.tag(service["serviceArn"], intent.after)
    return {"ecs_service": intent.name, "changed": "marked obsolete", "tags": intent.after}


def mark_retired(plan: Plan, results: EarlierResults | dict[str, Any], found: Versions) -> list[dict[str, Any]]:
    """Mark the versions this release retired, and one an earlier release retired but left unmarked."""
    results = EarlierResults.of(results)
    retired = results.retire.retired
    olds = {o["ecs_service"]: o for o in results.live.old_services}
    unmarked = obsolete_mark.unmarked(plan, {r["ecs_service"] for r in retired}, found)
    earlier = obsolete_mark.left_unmarked(plan, versions.described(plan, found, unmarked))
    marked = [mark(plan, r["ecs_service"], olds.get(r["ecs_service"], {}).get("target_groups", []), found) for r in retired]
    return marked + [mark(plan, name, [], found) for name in earlier]
