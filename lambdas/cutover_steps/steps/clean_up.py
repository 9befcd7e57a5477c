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
"""
from __future__ import annotations

from typing import Any


from cutover_steps.decisions import ownership
from cutover_steps.decisions import forward as decisions
from cutover_steps.adapters import aws_errors, ecs, elbv2
from cutover_steps.errors import AwsThrottled
from cutover_steps.plan.view import TAG_PREFIX, PlanView as Plan
from cutover_steps.results import CleanedUp
from cutover_steps.runtime.step import StepEvent, lambda_step
from cutover_steps.decisions.obsolete_mark import obsolete_versions, revisions_in_use
from cutover_steps.reads import versions
from cutover_steps.steps.obsolete import mark_retired


def delete(plan: Plan, version: dict[str, Any], in_use: set[str]) -> dict[str, Any]:
    service_tags = version.get("service_tags") or {}
    if not ownership.of_service(plan, service_tags) or service_tags.get(f"{TAG_PREFIX}version") != version["version"]:
        # Its target group says obsolete, the service itself is someone else's: delete neither.
        return {**_brief(version), "changed": None, "skipped": f"the service belongs to {ownership.describe(service_tags)}; left alone"}
    try:
        groups = elbv2.target_groups(version["target_groups"])
        in_use_groups = [g["TargetGroupName"] for g in groups if g.get("LoadBalancerArns")]
        if in_use_groups:
            # Behind a listener rule means something still routes there: never delete that.
            return {**_brief(version), "changed": None, "skipped": f"{', '.join(in_use_groups)} still behind a listener rule"}
        # The revision first: a re-run after a crash still finds the version, and with it its revision.
        revision = retire_revision(plan, version.get("task_definition"), in_use)
        ecs.delete_service(plan.cluster, version["ecs_service"])
        for group in groups:
            elbv2.delete_target_group(group["TargetGroupArn"])
    except aws_errors.AwsRefusal as error:
        return {**_brief(version), "changed": None, "skipped": aws_errors.refusal_text(error)}
    except AwsThrottled as error:
        return {**_brief(version), "changed": None, "skipped": str(error)}
    return {**_brief(version), "changed": "deleted", "target_groups": [g["TargetGroupName"] for g in groups],
            **({"task_definition": revision} if revision else {})}


def retire_revision(plan: Plan, revision: str | None, in_use: set[str]) -> dict[str, Any] | None:
    """Deregister (or delete) the revision of a version about to be deleted, when nothing else runs it."""
    if not revision:
        return None
    mode = plan.config.release.deleted_revisions
    if mode == "keep":
        return {"revision": revision, "changed": None, "found": "kept (deleted_revisions: keep)"}
    if revision in in_use:
        return {"revision": revision, "changed": None, "found": "still run by a version that stays; kept"}
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


def _brief(version: dict[str, Any]) -> dict[str, Any]:
    return {"ecs_service": version["ecs_service"], "version": version["version"], "obsolete_since": version["since"]}


@lambda_step
def handler(event: StepEvent) -> CleanedUp:
    plan = event.plan
    found = versions.found(plan)
    candidates = obsolete_versions(plan, found)
    doomed, kept = decisions.cleanup(plan, candidates)
    in_use = revisions_in_use(found, {v["ecs_service"] for v in doomed})
    return CleanedUp(
        obsolete_found=len(candidates),
        deleted=[delete(plan, v, in_use) for v in doomed],
        kept=[_brief(v) for v in kept],
        # After the deletes: what is marked now is never deleted by this release.
        marked=mark_retired(plan, event.results, found),
    )
