"""The release's decisions: what each mutating step decides from what it read alone.

A step reads the world (`cutover_steps.reads`, through the adapters), decides here with no call
(an `Intent`: create, change, keep or delete, with before and after), then applies the decision.
`cutover plan` runs the same reads and decisions and stops before applying them, as a dry run of
the same code.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from cutover_steps.decisions import capacity, ownership
from cutover_steps.decisions.descriptions import draining_message, parked, tags_of, target_group_arns
from cutover_steps.errors import ReleaseInProgress, ServiceConflict, TargetGroupConflict
from cutover_steps.decisions.intent import CHANGE, CREATE, DELETE, KEEP, Intent
from cutover_steps.decisions.obsolete_mark import BY, SINCE
from cutover_steps.plan.view import TAG_PREFIX, PlanView as Plan, RoutePlanView as RoutePlan
from cutover_steps.registry import BY_KEY, STOPPED_RELEASE_HANDLER


def tags_for(plan: Plan, route: RoutePlan) -> dict[str, str]:
    return plan.tags(route=route.route.name, **{"ecs-service": plan.ecs_service})


def target_group(plan: Plan, route: RoutePlan, existing: dict[str, Any] | None, tags: dict[str, str]) -> Intent:
    """Create it, or keep this version's own; one that is someone else's is refused."""
    if existing is None:
        return Intent(CREATE, "target group", route.target_group_name, after=tags_for(plan, route))
    wanted = tags_for(plan, route)
    mine = all(tags.get(f"{TAG_PREFIX}{k}") == wanted[f"{TAG_PREFIX}{k}"] for k in ("env", "service", "version", "route"))
    if not mine:
        raise TargetGroupConflict(
            f"target group {route.target_group_name} exists but is not {plan.env}/{plan.service} "
            f"version {plan.version} route {route.route.name} (its tags: {tags or 'none'}); rename or delete it"
        )
    return Intent(KEEP, "target group", route.target_group_name, before=existing["TargetGroupArn"],
                  after=existing["TargetGroupArn"], why="this version's, exists already")


def preparing_rule(rule_arn: str, before: dict[str, int], target_group_arn: str | None) -> Intent:
    """Forward to the new version alone, unless the rule already does. (No ARN yet: planned, not created.)"""
    if target_group_arn is not None and list(before) == [target_group_arn]:
        return Intent(KEEP, "preparing rule", rule_arn, before=before, after=before)
    return Intent(CHANGE, "preparing rule", rule_arn, before=before, after={target_group_arn: 1})


DIGEST_TAG = f"{TAG_PREFIX}digest"


def digest(request: dict[str, Any]) -> str:
    content = {k: v for k, v in request.items() if k != "tags"}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:32]


def task_definition(request: dict[str, Any], latest: dict[str, Any] | None) -> Intent:
    """Reuse the latest revision when it has this content (by its digest tag), else register one."""
    wanted = digest(request)
    if latest and latest["tags"].get(DIGEST_TAG) == wanted:
        return Intent(KEEP, "task definition", request["family"], before=latest["taskDefinitionArn"],
                      after=latest["taskDefinitionArn"], why="same content already registered")
    return Intent(CREATE, "task definition", request["family"], before=latest and latest["taskDefinitionArn"],
                  after=wanted, why="a new revision")


def refuse_draining(plan: Plan, existing: dict[str, Any] | None) -> None:
    if existing is not None and existing.get("status") == "DRAINING":
        raise ServiceConflict(draining_message(plan.ecs_service))


def service(plan: Plan, existing: dict[str, Any] | None, groups: dict[str, str] | None) -> Intent:
    """A release's service: create it, keep this version's own, or bring it back up when an earlier
    release retired it; someone else's, or one wired elsewhere, is refused. (`groups` None: the
    target groups are planned, not created, so the wiring cannot be compared yet.)"""
    refuse_draining(plan, existing)
    desired = capacity.starting_count(plan.config)
    if existing is None:
        return Intent(CREATE, "ECS service", plan.ecs_service, after={"desired_count": desired})
    if not ownership.of_version(plan, tags_of(existing)):
        raise ServiceConflict(ownership.refusal(plan, "ECS service", plan.ecs_service, tags_of(existing)))
    wired = set(target_group_arns(existing))
    if groups is not None and wired != set(groups.values()):
        raise ServiceConflict(
            f"ECS service {plan.ecs_service} is wired to {sorted(wired)}, not to this release's target groups"
        )
    if existing["desiredCount"] == 0:
        # The same version was released before and retired since: bring it back up.
        return Intent(CHANGE, "ECS service", plan.ecs_service, before={"desired_count": 0},
                      after={"desired_count": desired}, why="retired by an earlier release; brought back up")
    return Intent(KEEP, "ECS service", plan.ecs_service, before={"desired_count": existing["desiredCount"]},
                  after={"desired_count": existing["desiredCount"]}, why="already exists")


def scalable_target(plan: Plan, wanted: dict[str, Any] | None, current: dict[str, Any] | None) -> Intent | None:
    """Register the configured scalable target and policies, unless the service already has them
    (same bounds, same policy names); None when the config wants no autoscaling. (`current`: the
    service's scalable target as `autoscaling.snapshot` reads it; a service created now has none.)"""
    if wanted is None:
        return None
    after = {"min": wanted["min"], "max": wanted["max"], "policies": sorted(p["name"] for p in wanted["policies"])}
    if current is None:
        return Intent(CREATE, "scalable target", plan.ecs_service, after=after)
    before = {"min": current["min"], "max": current["max"], "policies": sorted(p["name"] for p in current["policies"])}
    if before == after:
        return Intent(KEEP, "scalable target", plan.ecs_service, before=before, after=after, why="already registered")
    return Intent(CHANGE, "scalable target", plan.ecs_service, before=before, after=after)


def old_versions(plan: Plan, rules: list[dict[str, Any]], tags: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Which of the public rules' target groups are the old version (everything but the new one),
    and which ECS service each is: the versions a release retires. Sets each rule's `old`."""
    old_services: dict[str, dict[str, Any]] = {}
    notes = []
    for r in rules:
        old = [arn for arn in r["forward"] if arn != r["new"]]
        r["old"] = old
        versions = sorted({tags.get(arn, {}).get(f"{TAG_PREFIX}version", "unknown") for arn in old})
        if len(old) > 1:
            notes.append(
                f"route {r['route']}: the public rule forwards to {len(old)} old target groups "
                f"(versions {', '.join(versions)}), left by an interrupted release; all of them are treated as the old version"
            )
        if not old:
            notes.append(f"route {r['route']}: already forwards only to version {plan.version}")
        for arn in old:
            arn_tags = tags.get(arn, {})
            name = arn_tags.get(f"{TAG_PREFIX}ecs-service")
            if not ownership.of_service(plan, arn_tags) or not name:
                notes.append(f"route {r['route']}: {arn.rsplit('/', 2)[-2]} belongs to {ownership.describe(arn_tags)}; it is not retired")
                continue
            entry = old_services.setdefault(name, {"ecs_service": name, "version": arn_tags.get(f"{TAG_PREFIX}version"), "target_groups": []})
            entry["target_groups"].append(arn)
    return {"routes": rules, "old_services": list(old_services.values()), "notes": notes}


def retirement(plan: Plan, old: dict[str, Any], service: dict[str, Any] | None, snapshot: dict[str, Any] | None) -> Intent:
    """Scale it to zero, its scalable target parked first; gone, someone else's or at zero: keep."""
    name = old["ecs_service"]
    if service is None:
        return Intent(KEEP, "old version", name, why="service no longer exists")
    if not ownership.of_service(plan, tags_of(service)):
        return Intent(KEEP, "old version", name, why=ownership.not_ours(tags_of(service)))
    return to_zero("old version", name, service, snapshot, why="retired, kept at zero for a rollback")


def to_zero(resource: str, name: str, service: dict[str, Any], snapshot: dict[str, Any] | None,
            why: str | None = None) -> Intent:
    """Scale a service to zero, its scalable target (`snapshot`) parked first (bounds 0..0, scaling
    suspended: its policies and scheduled actions stay, see `descriptions.PARKED`); one already at
    zero, parked or without a scalable target, is kept, and says so, so that a step run again still
    tells its state."""
    now = {"desired_count": service["desiredCount"], "autoscaling": snapshot and {k: snapshot[k] for k in ("min", "max")}}
    if service["desiredCount"] == 0 and (snapshot is None or parked(snapshot)):
        return Intent(KEEP, resource, name, before=now, after=now,
                      why="already at zero, " + ("its scaling parked" if snapshot else "no scalable target"))
    after = {"desired_count": 0, "autoscaling": snapshot and {"min": 0, "max": 0}}
    return Intent(CHANGE, resource, name, before=now, after=after, why=why)


def cleanup(plan: Plan, candidates: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(to delete, to keep) among the obsolete versions found, oldest first: only what an *earlier*
    release marked, and never the version being released; the newest are kept as configured."""
    ours = f"{plan.env}/{plan.version}"
    earlier = [v for v in candidates if v["by"] != ours and v["ecs_service"] != plan.ecs_service]
    # The version this release retires is the newest retired one and counts toward the keep.
    keep = plan.config.release.retired_versions_to_keep - 1
    doomed = earlier[: max(0, len(earlier) - keep)]
    return doomed, earlier[len(doomed):]


def deletions(doomed: list[dict[str, Any]]) -> list[Intent]:
    return [Intent(DELETE, "version", v["ecs_service"], before={"version": v["version"], "obsolete_since": v["since"]},
                   why="marked obsolete by an earlier release") for v in doomed]


def obsolete_mark(plan: Plan, name: str, service: dict[str, Any] | None, since: str) -> Intent:
    """Mark a retired version obsolete (service and target groups tagged) so that a later release
    deletes it; one gone, someone else's or marked already is kept as it is."""
    if service is None:
        return Intent(KEEP, "obsolete mark", name, why="service no longer exists")
    tags = tags_of(service)
    if not ownership.of_service(plan, tags):
        return Intent(KEEP, "obsolete mark", name, why=ownership.not_ours(tags))
    if SINCE in tags:
        found = {SINCE: tags[SINCE], BY: tags.get(BY)}
        return Intent(KEEP, "obsolete mark", name, before=found, after=found, why=f"already obsolete since {tags[SINCE]}")
    return Intent(CHANGE, "obsolete mark", name, after={SINCE: since, BY: f"{plan.env}/{plan.version}"},
                  why="retired; a later release deletes it")


# The lock: one release per cluster and service at a time. An undo of an ended release still marked
# on the lock after its function's time limit has died with it.
UNDO_SECONDS = BY_KEY[STOPPED_RELEASE_HANDLER].timeout_seconds


def lock(key: str, owner: str | None, held: dict[str, Any] | None, holder_running: bool, now: datetime,
         undo_pending: bool = False) -> Intent:
    """Take a free lock, keep one this execution holds, take over one whose release has ended; refuse
    while its holder runs, or while the undo of that ended release is pending or runs (two of them
    would then change the service at once). `owner` None: a plan, which no execution runs yet."""
    service = key.split("#", 1)[1]
    holder = (held or {}).get("held_by")
    if not holder:
        return Intent(CREATE, "lock", key, after={"held_by": owner}, why="free")
    since = {"held_by": holder, "taken_at": held.get("taken_at")}
    if holder == owner:
        return Intent(KEEP, "lock", key, before=since, after=since, why="held by this release already")
    if holder_running:
        raise ReleaseInProgress(
            f"{service} is being released by {holder} (since {held.get('taken_at')}); "
            "wait for it to finish, or stop it, then start again"
        )
    undoing = held.get("undo_started_at")
    if undo_pending and not undoing:
        raise ReleaseInProgress(
            f"{service} is held by {holder}, which ended without its undo yet (its status change may come late, "
            f"or the sweep starts the undo within minutes); start again when `cutover status "
            f"{holder.rsplit(':', 1)[-1]}` says what the undo did"
        )
    if undoing and (undo_pending or now < datetime.fromisoformat(undoing) + timedelta(seconds=UNDO_SECONDS)):
        raise ReleaseInProgress(
            f"{service} is being undone after {holder} ended (since {undoing}); start again when "
            f"`cutover status {holder.rsplit(':', 1)[-1]}` says what the undo did"
        )
    return Intent(CHANGE, "lock", key, before=since, after={"held_by": owner},
                  why="taken over from a stale lock: its release ended without unlocking")


def unlock(key: str, owner: str, held: dict[str, Any] | None) -> Intent:
    """Release the lock this execution holds; a free lock, or someone else's, is left as it is."""
    holder = (held or {}).get("held_by")
    if holder == owner:
        return Intent(DELETE, "lock", key, before={"held_by": owner})
    if held is None:
        return Intent(KEEP, "lock", key, why="not locked")
    return Intent(KEEP, "lock", key, before={"held_by": holder}, after={"held_by": holder},
                  why=f"held by {holder}, left alone")
