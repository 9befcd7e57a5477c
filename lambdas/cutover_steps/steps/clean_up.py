"""Clean up: delete the services and target groups that earlier releases marked obsolete, then
mark the version retired now obsolete, for the next release (`cutover_steps.steps.obsolete`).

Both are work after the switch that moves no traffic, so they share one step: a failure of either
is one warning, and the next release finishes both.

Versions are found by their tags, not by scanning the cluster (`cutover_steps.reads.versions`): one
Resource Groups Tagging API query returns this env and service's ECS services and target groups
with their tags, and when any carries the obsolete mark ECS confirms them (10 at a time): which are
still there and marked, and which revisions the versions that stay run. The same read serves the
marking afterwards.
The newest obsolete versions are kept as configured. The task definition revision of each version
deleted is deregistered (or deleted, or kept: `release.deleted_revisions`) once no remaining
version of the service runs it, if Cutover registered it. One version that cannot be deleted is reported and skipped, never fatal:
the release itself has already succeeded by now.

What is deleted, kept and marked is decided without AWS (`decide`, as `cutover plan` shows it); each
deletion's own guards (its target groups still behind a rule, its revision's description) are read
as it is made (`apply`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cutover_steps.decisions import ownership
from cutover_steps.decisions import forward as decisions
from cutover_steps.adapters import aws_errors, ecs, elbv2
from cutover_steps.decisions.intent import Intent
from cutover_steps.errors import AwsThrottled, CutoverError
from cutover_steps.plan.naming import target_group_name_of
from cutover_steps.plan.view import TAG_PREFIX, PlanView as Plan
from cutover_steps.results import CleanedUp
from cutover_steps.runtime.protocol import StepProtocol
from cutover_steps.runtime.step import StepEvent
from cutover_steps.decisions.obsolete_mark import Versions, obsolete_versions, revisions_in_use
from cutover_steps.reads import versions
from cutover_steps.steps import obsolete


@dataclass(frozen=True)
class Found:
    # This env+service's versions: the tagging query, confirmed by ECS when any is marked.
    query: Versions
    # What the marking needs: the versions retired now and those left unmarked, and the mark's time.
    marking: obsolete.MarkingFound


@dataclass(frozen=True)
class Decided:
    # The obsolete versions found, oldest first, and of them those deleted and those kept (as
    # `obsolete_versions` gives them; `cutover plan` shows `delete`/`keep` as `brief` does).
    obsolete: list[dict[str, Any]]
    delete: list[dict[str, Any]]
    keep: list[dict[str, Any]]
    # The revisions the versions that stay run: a deleted version's revision in it is kept.
    in_use: frozenset[str]
    # The versions marked obsolete now: this release's retired ones first, then those left unmarked.
    marks: list[obsolete.Mark]
    # Every target group of this env+service with its tags (the query's): the mark goes on ours only.
    group_tags: dict[str, dict[str, str]]
    refusal: CutoverError | None = None

    @property
    def deletions(self) -> list[Intent]:
        return decisions.deletions(self.delete)

    @property
    def intents(self) -> list[Intent]:
        return self.deletions + [m.intent for m in self.marks]

    @property
    def mark_earlier(self) -> list[str]:
        """The versions an earlier release retired and left unmarked, marked now (`cutover plan`'s `mark_earlier`)."""
        return [m.intent.name for m in self.marks if not m.retired_now]

    @property
    def retired_marks(self) -> dict[str, dict[str, Any]]:
        """Each version retired now -> its mark as `cutover plan`'s retire list shows it (`marked`, `mark_found`)."""
        return {m.intent.name: {"marked": m.intent.acts, "mark_found": None if m.intent.acts else m.intent.why}
                for m in self.marks if m.retired_now}


def read(event: StepEvent) -> Found:
    """The versions' one query, and what their marking needs (the clock among it)."""
    found = versions.found(event.plan)
    return Found(found, obsolete.marking_found(event.plan, event.results, found))


def decide(event: StepEvent, found: Found) -> Decided:
    plan = event.plan
    candidates = obsolete_versions(plan, found.query)
    doomed, kept = decisions.cleanup(plan, candidates)
    return Decided(obsolete=candidates, delete=doomed, keep=kept,
                   in_use=frozenset(revisions_in_use(found.query, {v["ecs_service"] for v in doomed})),
                   marks=obsolete.marks(plan, event.results, found.marking), group_tags=found.query.tags)


def delete(plan: Plan, version: dict[str, Any], in_use: frozenset[str]) -> dict[str, Any]:
    # The guards of each deletion stay here, read as the deletion is made: a version whose service is
    # not ours, whose target group a rule forwards to, or whose revision is not Cutover's is left alone
    # then, whatever was decided before.
    service_tags = version.get("service_tags") or {}
    if not ownership.of_service(plan, service_tags) or service_tags.get(f"{TAG_PREFIX}version") != version["version"]:
        # Its target group says obsolete, the service itself is someone else's: delete neither.
        return {**brief(version), "changed": None, "skipped": f"the service belongs to {ownership.describe(service_tags)}; left alone"}
    try:
        groups = elbv2.target_groups(version["target_groups"])
        in_use_groups = [g["TargetGroupName"] for g in groups if g.get("LoadBalancerArns")]
        if in_use_groups:
            # Behind a listener rule means something still routes there: never delete that.
            return {**brief(version), "changed": None, "skipped": f"{', '.join(in_use_groups)} still behind a listener rule"}
        # The revision first: a re-run after a crash still finds the version, and with it its revision.
        revision = retire_revision(plan, version.get("task_definition"), in_use)
        ecs.delete_service(plan.cluster, version["ecs_service"])
        for group in groups:
            elbv2.delete_target_group(group["TargetGroupArn"])
    except aws_errors.AwsRefusal as error:
        return {**brief(version), "changed": None, "skipped": aws_errors.refusal_text(error)}
    except AwsThrottled as error:
        return {**brief(version), "changed": None, "skipped": str(error)}
    return {**brief(version), "changed": "deleted", "target_groups": [g["TargetGroupName"] for g in groups],
            **({"task_definition": revision} if revision else {})}


def retire_revision(plan: Plan, revision: str | None, in_use: frozenset[str]) -> dict[str, Any] | None:
    """Deregister (or delete) the revision of a version about to be deleted, when nothing else runs it."""
    kept = revision_kept(plan, revision, in_use)
    if not revision or kept:
        return kept
    mode = plan.config.release.deleted_revisions
    description = ecs.task_definition(revision)
    if description is None:
        return {"revision": revision, "changed": None, "found": "already deleted"}
    if decisions.DIGEST_TAG not in description["tags"]:
        # Registered by someone else (an adopted service's, say): theirs to retire.
        return {"revision": revision, "changed": None, "found": "not registered by Cutover; kept"}
    changed = None
    if description["status"] == "ACTIVE":
        ecs.deregister_task_definition(revision)
        changed = "deregistered"
    if mode == "delete":
        # ECS deletes only INACTIVE revisions; the services and tasks that use one keep running.
        refused = ecs.delete_task_definitions([revision])
        if refused:
            return {"revision": revision, "changed": changed, "skipped": f"not deleted: {refused[revision]}"}
        changed = "deleted"
    return {"revision": revision, "changed": changed, **({} if changed else {"found": "already deregistered"})}


def revision_kept(plan: Plan, revision: str | None, in_use: frozenset[str]) -> dict[str, Any] | None:
    """The revision's report when it is kept whatever ECS says of it (the config keeps revisions, or
    a version that stays runs it); None when it is retired (or there is none)."""
    if not revision:
        return None
    if plan.config.release.deleted_revisions == "keep":
        return {"revision": revision, "changed": None, "found": "kept (deleted_revisions: keep)"}
    if revision in in_use:
        return {"revision": revision, "changed": None, "found": "still run by a version that stays; kept"}
    return None


def brief(version: dict[str, Any]) -> dict[str, Any]:
    return {"ecs_service": version["ecs_service"], "version": version["version"], "obsolete_since": version["since"]}


def apply(event: StepEvent, decided: Decided) -> CleanedUp:
    plan = event.plan
    return CleanedUp(
        obsolete_found=len(decided.obsolete),
        deleted=[delete(plan, v, decided.in_use) for v in decided.delete],
        kept=[brief(v) for v in decided.keep],
        # After the deletes: what is marked now is never deleted by this release.
        marked=[obsolete.apply_mark(plan, m.service, m.intent, m.target_groups, decided.group_tags) for m in decided.marks],
    )


def expect(event: StepEvent, decided: Decided) -> CleanedUp:
    plan = event.plan
    return CleanedUp(
        obsolete_found=len(decided.obsolete),
        deleted=[{**brief(v), "changed": "deleted", "target_groups": [target_group_name_of(arn) for arn in v["target_groups"]],
                  **({"task_definition": expected_revision(plan, v.get("task_definition"), decided.in_use)}
                     if v.get("task_definition") else {})}
                 for v in decided.delete],
        kept=[brief(v) for v in decided.keep],
        marked=[obsolete.mark_result(m.intent) for m in decided.marks],
    )


def expected_revision(plan: Plan, revision: str, in_use: frozenset[str]) -> dict[str, Any]:
    """A deleted version's revision had every call succeeded: kept, or deregistered (and deleted)."""
    return revision_kept(plan, revision, in_use) or {
        "revision": revision, "changed": "deleted" if plan.config.release.deleted_revisions == "delete" else "deregistered"}


STEP = StepProtocol(read, decide, apply, expect)
handler = STEP.handler()
