"""The floor of a release's AWS API calls: what each step minimally has to call, and why.

The floor keeps every promise of docs/release.md: bad input refused before any change, nothing
touched that the release does not own, a person's change to a rule never overwritten, re-runs that
converge without duplicates, and what a rollback needs remembered. It counts each AWS change once,
batches reads AWS lets batch (DescribeRules takes several rule ARNs, DescribeTargetGroups several
names, DescribeServices ten services, DescribeTags twenty resources), leans on AWS's own
idempotency (CreateTargetGroup with identical settings returns the existing group; CreateService
with a clientToken returns the service it created; RegisterScalableTarget and PutScalingPolicy
replace what they find; DynamoDB UpdateItem changes a record without reading it first), and takes
the world's pace as given (health polls count as many as the release really made).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Release:
    """What decides a release's floor: its settings, and the health polls it really made."""

    routes: int
    holds: list[int]  # seconds of each traffic step's hold
    alarms: int
    alarm_check_seconds: int
    scaling_policies: int | None  # of the new version; None: no autoscaling
    old_autoscaling: bool
    health_polls: int  # looks at the health of each route, the re-check before the switch included
    manual_approval: bool = True
    deleted_versions: int = 0  # obsolete versions the cleanup deletes
    service_versions: int = 0  # versions of the service in the cluster when the cleanup runs, obsolete ones included
    deleted_revisions: str = "deregister"


@dataclass(frozen=True)
class StepFloor:
    step: str
    why: str
    calls: Callable[[Release], int]


def _looks(r: Release) -> int:
    # One per alarm_check_seconds of each hold: a reaction no slower than alarm_check_seconds (the look
    # right before the switch is ReadLiveRoutes'). A hold of zero seconds needs no look.
    return sum(math.ceil(hold / r.alarm_check_seconds) for hold in r.holds if hold > 0) if r.alarms else 0


def _deletions(r: Release) -> int:
    # GetResources could ask for every version of the service, obsolete or not, in its one query (the
    # mark is read from the tags it returns); then one DescribeServices per ten versions confirms from
    # ECS what to delete and gives the revisions the staying versions run (never deregister one in
    # use) and the target groups; one DescribeTargetGroups of all of them (none may sit behind a
    # rule); per version, DescribeTaskDefinition (did Cutover register its revision?),
    # DeregisterTaskDefinition (and DeleteTaskDefinitions), DeleteService and DeleteTargetGroup per route.
    if not r.deleted_versions:
        return 0
    revision = {"keep": 0, "deregister": 2, "delete": 3}[r.deleted_revisions]
    return math.ceil(r.service_versions / 10) + 1 + r.deleted_versions * (revision + 1 + r.routes)


FLOOR = [
    StepFloor("LoadRelease", "DescribeRules (every route's rules, one call), DescribeTargetGroups and DescribeServices "
              "(are the new names someone else's? a missing cluster fails DescribeServices too), DescribeAlarms "
              "(do the watched alarms exist?); an inline config needs no GetObject",
              lambda r: 3 + (1 if r.alarms else 0)),
    StepFloor("LockService", "PutItem with a condition", lambda r: 1),
    StepFloor("CreateTargetGroups", "CreateTargetGroup with its tags, per route (returns the existing group on a re-run)",
              lambda r: r.routes),
    StepFloor("AttachPreparingRules", "ModifyRule per route (the rule was read by LoadRelease)", lambda r: r.routes),
    StepFloor("RegisterTaskDefinition", "DescribeTaskDefinition of the family's latest revision with its tags (is it "
              "this release's already?), then RegisterTaskDefinition", lambda r: 2),
    StepFloor("CreateService", "CreateService with a clientToken; RegisterScalableTarget and one PutScalingPolicy per "
              "policy when the config scales", lambda r: 1 + (1 + r.scaling_policies if r.scaling_policies is not None else 0)),
    StepFloor("CheckHealth", "DescribeTargetHealth per route and poll", lambda r: r.routes * r.health_polls),
    StepFloor("RequestApproval", "Publish", lambda r: 1 if r.manual_approval else 0),
    StepFloor("WatchAlarms", "DescribeAlarms once per alarm_check_seconds of each hold", _looks),
    StepFloor("ReadLiveRoutes", "DescribeAlarms (none in ALARM before the switch), DescribeRules (every public rule, "
              "one call) and DescribeTags (their target groups)", lambda r: 2 + (1 if r.alarms else 0)),
    StepFloor("ShiftTraffic", "ModifyRule per route and traffic step", lambda r: r.routes * len(r.holds)),
    StepFloor("RetireOldVersion", "DescribeRules (no public rule still sends it traffic), DescribeServices (its count, "
              "for a rollback), DescribeScalableTargets and DescribeScalingPolicies (its autoscaling, for a rollback), "
              "RegisterScalableTarget parked at 0..0, UpdateService to 0, UpdateItem (the record keeps what a rollback restores)",
              lambda r: 4 + (3 if r.old_autoscaling else 0)),
    StepFloor("CleanUp", "GetResources (what an earlier release marked obsolete; deletes only when there is some), "
              "then one tag call: the retired service's target group carries the mark cleanup looks for (its ownership "
              "was read by ReadLiveRoutes); deleting versions adds what _deletions counts", lambda r: 2 + _deletions(r)),
    StepFloor("RecordRelease", "UpdateItem", lambda r: 1),
    StepFloor("NotifySucceeded", "Publish", lambda r: 1),
    StepFloor("UnlockService", "DeleteItem with a condition", lambda r: 1),
]


def release_of(config: dict[str, Any], steps: dict[str, dict[str, Any]], old_autoscaling: bool,
               deleted_versions: int = 0, service_versions: int = 0) -> Release:
    """The floor's inputs for a release of `config` (a deploy config as given) whose steps were counted."""
    settings = config.get("release", {})
    scaling = config.get("service_settings", {}).get("autoscaling")
    return Release(
        routes=len(config["routes"]),
        holds=[s["hold_seconds"] for s in settings.get("traffic_steps", [])],
        alarms=len(settings.get("alarm_names", [])),
        alarm_check_seconds=settings.get("alarm_check_seconds", 10),
        scaling_policies=len(scaling.get("policies", [])) if scaling else None,
        old_autoscaling=old_autoscaling,
        # Each look is one DescribeTargetHealth per route, however many looks an invocation makes.
        health_polls=steps.get("CheckHealth", {}).get("calls", {}).get("elbv2:DescribeTargetHealth", 0) // len(config["routes"]),
        manual_approval=settings.get("approval", {}).get("mode", "manual") == "manual",
        deleted_versions=deleted_versions,
        service_versions=service_versions,
        deleted_revisions=settings.get("deleted_revisions", "deregister"),
    )


def per_step(release: Release) -> dict[str, int]:
    return {floor.step: floor.calls(release) for floor in FLOOR}
