"""What AWS's descriptions say, read without a call: an ECS service's tags and target groups, a
listener rule's forward weights, a scalable target parked at zero. The one place that reads them,
for the decisions, the steps and the command line alike; the adapters only fetch the descriptions."""
from __future__ import annotations

from typing import Any

from cutover_steps.plan import naming

SUSPENDED = ("DynamicScalingInSuspended", "DynamicScalingOutSuspended", "ScheduledScalingSuspended")
# How a version at zero keeps its autoscaling: DeregisterScalableTarget would delete every scaling
# policy and scheduled action with it (and a policy put back gets a new ARN, which the alarms of a
# step-scaling policy no longer name). Bounds of 0 (allowed for ECS) hold the service at zero, and
# suspending keeps policies and scheduled actions from acting; all of them stay, untouched.
PARKED = {"min": 0, "max": 0, "suspended": {key: True for key in SUSPENDED}}


def tags_of(description: dict[str, Any]) -> dict[str, str]:
    """An ECS description's tags (DescribeServices with TAGS, DescribeTaskDefinition) as a dict."""
    return {t["key"]: t["value"] for t in description.get("tags") or []}


def target_group_arns(description: dict[str, Any]) -> list[str]:
    """The target groups an ECS service is wired to."""
    return [lb["targetGroupArn"] for lb in description.get("loadBalancers", []) if lb.get("targetGroupArn")]


def is_service_of(arn: str, cluster: str) -> bool:
    """An ECS service ARN in `cluster` (the old ARN format, service/NAME, names no cluster: it may be)."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[2] != "ecs":
        return False
    resource = parts[5].split("/")
    return resource[0] == "service" and (len(resource) == 2 or resource[1] == naming.cluster_name(cluster))


def draining_message(name: str) -> str:
    return (
        f"ECS service {name} was deleted recently and is still DRAINING: AWS frees its name once its tasks "
        "have stopped (usually a few minutes). Start the release again after that, or release another version"
    )


def forward_of(rule_description: dict[str, Any]) -> dict[str, int]:
    """The rule's forward action as {target group ARN: weight}, whichever form it is written in."""
    for action in rule_description.get("Actions", []):
        if action.get("Type") != "forward":
            continue
        groups = action.get("ForwardConfig", {}).get("TargetGroups")
        if groups:
            return {g["TargetGroupArn"]: int(g.get("Weight", 1)) for g in groups}
        if action.get("TargetGroupArn"):
            return {action["TargetGroupArn"]: 1}
    return {}


def parked(snapshot: dict[str, Any] | None) -> bool:
    """Whether a scalable target (as `autoscaling.snapshot` reads it) is held at zero with its scaling suspended."""
    return snapshot is not None and {k: snapshot.get(k) for k in PARKED} == PARKED
