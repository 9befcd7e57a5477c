"""Clean up: delete the services and target groups that earlier releases marked obsolete.

Versions are found by listing the cluster's services (pages of 100), describing them (10 at a
time) and reading their target groups' tags (20 at a time). The newest obsolete versions are
kept as configured. One version that cannot be deleted is reported and skipped, never fatal:
the release itself has already succeeded by now.
"""
from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from release import naming, ownership
from release.adapters import ecs, elbv2
from release.aws import client
from release.plan import TAG_PREFIX, Plan
from release.step import StepEvent, lambda_step
from release.steps.obsolete import BY, SINCE


def obsolete_versions(plan: Plan) -> tuple[list[dict[str, Any]], int]:
    """This env+service's obsolete versions, oldest first; and how many services the cluster has."""
    arns = list(ecs.service_arns(plan.cluster))
    # Only this service's versions are described: other teams' services are neither needed nor
    # granted when the stack narrows services to a name prefix.
    prefix = naming.service_name_prefix(plan.service)
    services = list(ecs.describe_many(plan.cluster, [a for a in arns if a.rsplit("/", 1)[-1].startswith(prefix)]))
    by_group = {arn: s for s in services if s.get("status") == "ACTIVE" for arn in ecs.target_group_arns(s)}
    tags = elbv2.tags_of(by_group)
    versions: dict[str, dict[str, Any]] = {}
    for arn, service in by_group.items():
        t = tags.get(arn, {})
        if not ownership.of_service(plan, t) or SINCE not in t:
            continue
        entry = versions.setdefault(service["serviceName"], {
            "service_tags": ecs.tags_of(service),
            "ecs_service": service["serviceName"], "version": t.get(f"{TAG_PREFIX}version"),
            "since": t[SINCE], "by": t.get(BY), "target_groups": [],
        })
        if t.get(f"{TAG_PREFIX}version") == entry["version"]:
            entry["target_groups"].append(arn)
    return sorted(versions.values(), key=lambda v: v["since"]), len(arns)


def delete(plan: Plan, version: dict[str, Any]) -> dict[str, Any]:
    elb, ecs_client = client("elbv2"), client("ecs")
    service_tags = version.get("service_tags") or {}
    if not ownership.of_service(plan, service_tags) or service_tags.get(f"{TAG_PREFIX}version") != version["version"]:
        # Its target group says obsolete, the service itself is someone else's: delete neither.
        return {**_brief(version), "changed": None, "skipped": f"the service belongs to {ownership.describe(service_tags)}; left alone"}
    try:
        # An empty list would mean "every target group" to DescribeTargetGroups.
        groups = elb.describe_target_groups(TargetGroupArns=version["target_groups"])["TargetGroups"] if version["target_groups"] else []
        in_use = [g["TargetGroupName"] for g in groups if g.get("LoadBalancerArns")]
        if in_use:
            # Behind a listener rule means something still routes there: never delete that.
            return {**_brief(version), "changed": None, "skipped": f"{', '.join(in_use)} still behind a listener rule"}
        # force: ECS deletes a service that still has tasks (stopping them) without a scale-down first.
        ecs_client.delete_service(cluster=plan.cluster, service=version["ecs_service"], force=True)
        for group in groups:
            elb.delete_target_group(TargetGroupArn=group["TargetGroupArn"])
    except ClientError as error:
        return {**_brief(version), "changed": None, "skipped": f"{error.response['Error']['Code']}: {error.response['Error']['Message']}"}
    return {**_brief(version), "changed": "deleted", "target_groups": [g["TargetGroupName"] for g in groups]}


def _brief(version: dict[str, Any]) -> dict[str, Any]:
    return {"ecs_service": version["ecs_service"], "version": version["version"], "obsolete_since": version["since"]}


@lambda_step
def handler(event: StepEvent) -> dict[str, Any]:
    plan = event.plan
    candidates, scanned = obsolete_versions(plan)
    ours = f"{plan.env}/{plan.version}"
    # Only what an *earlier* release marked; the version being released is never a candidate.
    earlier = [v for v in candidates if v["by"] != ours and v["ecs_service"] != plan.ecs_service]
    # The version this release retires is the newest retired one and counts toward the keep.
    keep = plan.config.release.retired_versions_to_keep - 1
    doomed = earlier[: max(0, len(earlier) - keep)]
    kept = earlier[len(doomed):]
    return {
        "services_scanned": scanned,
        "deleted": [delete(plan, v) for v in doomed],
        "kept": [_brief(v) for v in kept],
    }
