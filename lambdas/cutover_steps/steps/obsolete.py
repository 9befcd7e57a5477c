"""Mark versions obsolete (service and target groups tagged) so that a later release deletes them:
the version a release retired (by the cleanup step, once it has deleted what earlier releases
marked), and the new version of a release that was undone.

Besides the version retired now, a version of the service that sits retired at zero and unmarked
is marked too: an earlier release whose own marking failed (a warning, not a failure) is finished
this way. CleanUp reads what the marking needs (`marking_found`), decides it without AWS
(`marks`) and applies it (`apply_mark`); TearDownPrepared decides its own mark and applies it here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class MarkingFound:
    """What the marking decides on, besides the versions' query: the services this release retired as
    marking needs them (ARN and tags; None when gone), the unmarked versions as ECS describes them,
    and the time the mark says."""
    retired: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    unmarked: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The time the mark says, read once: the marks' decision reads no clock.
    since: str = ""


@dataclass(frozen=True)
class Mark:
    """One version to mark (or found marked, gone, someone else's: `intent`), with the service and
    the target groups the mark goes on (none given: those the service is wired to)."""
    intent: Intent
    service: dict[str, Any] | None
    target_groups: list[str]
    # This release retired it (else an earlier release retired it and left it unmarked).
    retired_now: bool


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _retired_groups(results: EarlierResults) -> dict[str, list[str]]:
    """Each version this release retired -> its target groups, which ReadLiveRoutes found ours as the
    public rules forwarded to them."""
    olds = {o["ecs_service"]: o for o in results.live.old_services}
    return {r["ecs_service"]: olds.get(r["ecs_service"], {}).get("target_groups", []) for r in results.retire.retired}


def marking_found(plan: Plan, results: EarlierResults | dict[str, Any], found: Versions) -> MarkingFound:
    """The reads the marking needs: a service this release retired with its target groups comes with
    what the query's tags describe of it (ECS is asked only when the query did not return it; one
    without is read from ECS); the versions without the mark, other than those, as ECS describes them
    (the query's confirmation read most already)."""
    retired = _retired_groups(EarlierResults.of(results))
    unmarked = obsolete_mark.unmarked(plan, set(retired), found)
    return MarkingFound(
        retired={name: (versions.retired_service if groups else versions.service_of)(plan, found, name)
                 for name, groups in retired.items()},
        unmarked=versions.described(plan, found, unmarked), since=now())


def marks(plan: Plan, results: EarlierResults | dict[str, Any], marking: MarkingFound) -> list[Mark]:
    """The versions this release retired, then those an earlier release retired but left unmarked:
    each one's obsolete mark, decided without AWS."""
    retired = [Mark(decisions.obsolete_mark(plan, name, marking.retired.get(name), marking.since), marking.retired.get(name), groups, True)
               for name, groups in _retired_groups(EarlierResults.of(results)).items()]
    # ECS has just described the versions left unmarked (ACTIVE, at zero, ours): that description is
    # the service to mark, its ARN, tags and target groups.
    earlier = [Mark(decisions.obsolete_mark(plan, name, marking.unmarked[name], marking.since), marking.unmarked[name], [], False)
               for name in obsolete_mark.left_unmarked(plan, marking.unmarked)]
    return retired + earlier


def mark_result(intent: Intent) -> dict[str, Any]:
    """What marking reports: the tags set, or why none was."""
    if not intent.acts:
        return {"ecs_service": intent.name, "changed": None, "found": intent.why}
    return {"ecs_service": intent.name, "changed": "marked obsolete", "tags": intent.after}


def apply_mark(plan: Plan, service: dict[str, Any] | None, intent: Intent, target_groups: list[str],
               known_tags: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
    """Tag the service and its target groups (`target_groups`, or those it is wired to) as decided.
    Their tags are read, unless `known_tags` gives every target group of this env+service (cleanup's
    one query): a group it lacks is not tagged as ours, so it is not marked."""
    if not intent.acts:
        return mark_result(intent)
    # Target groups first: cleanup finds versions through their target groups' tags.
    arns = target_groups or descriptions.target_group_arns(service)
    # The versions cleanup marks were made by earlier releases, long enough ago for the tagging API
    # (eventually consistent) to list their groups; at worst a group is left unmarked, never deleted.
    group_tags = known_tags if known_tags is not None else (elbv2.tags_of(arns) if arns else {})
    for arn in arns:
        if ownership.of_service(plan, group_tags.get(arn, {})):
            elbv2.add_tags(arn, intent.after)
    ecs.tag(service["serviceArn"], intent.after)
    return mark_result(intent)
