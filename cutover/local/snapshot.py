"""A snapshot of the whole emulated account, and what changed between two of them.

Tests (and the fault matrix) take one before and one after a release and check the promise that
a release touches only what it owns: every change must belong to the versions it may change.
What belongs to whom is read from the resources' own `cutover:` tags, as the release reads them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from cutover_steps.plan.models import TAG_PREFIX

Version = tuple[str, str, str]  # (env, service, version)
KINDS = ("service", "target_group", "rule", "scalable_target", "task_definition")


def _tags(pairs: Iterable[dict[str, str]] | None, key: str = "key", value: str = "value") -> dict[str, str]:
    return {t[key]: t[value] for t in pairs or []}


def _action(action: dict[str, Any]) -> dict[str, Any]:
    """A forward action as {target group: weight}: its short and its weighted form mean the same."""
    if action.get("Type") != "forward":
        return {k: v for k, v in action.items() if k != "Order"}
    groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or [{"TargetGroupArn": action.get("TargetGroupArn")}]
    stickiness = (action.get("ForwardConfig") or {}).get("TargetGroupStickinessConfig") or {}
    return {"Type": "forward", "weights": {g["TargetGroupArn"]: g.get("Weight", 1) for g in groups},
            "stickiness": stickiness if stickiness.get("Enabled") else None}


def take(client: Callable[[str], Any]) -> dict[str, dict[str, Any]]:
    """Every ECS service, target group, listener rule, scalable target and task definition, by kind and key.

    `client(name)` makes a boto3 client for the account (e.g. `LocalEngine.client`).
    """
    ecs, elb, aas = client("ecs"), client("elbv2"), client("application-autoscaling")
    snap: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
    for cluster in ecs.list_clusters()["clusterArns"]:
        arns = [a for page in ecs.get_paginator("list_services").paginate(cluster=cluster) for a in page["serviceArns"]]
        for start in range(0, len(arns), 10):
            for s in ecs.describe_services(cluster=cluster, services=arns[start:start + 10], include=["TAGS"])["services"]:
                snap["service"][f"{s['clusterArn'].rsplit('/', 1)[-1]}/{s['serviceName']}"] = {
                    "status": s["status"], "desired": s["desiredCount"], "task_definition": s["taskDefinition"],
                    "target_groups": sorted(lb["targetGroupArn"] for lb in s.get("loadBalancers", [])),
                    "tags": _tags(s.get("tags")),
                }
    groups = [g for page in elb.get_paginator("describe_target_groups").paginate() for g in page["TargetGroups"]]
    tags = {}
    for start in range(0, len(groups), 20):
        batch = [g["TargetGroupArn"] for g in groups[start:start + 20]]
        for d in elb.describe_tags(ResourceArns=batch)["TagDescriptions"]:
            tags[d["ResourceArn"]] = _tags(d.get("Tags"), "Key", "Value")
    for g in groups:
        snap["target_group"][g["TargetGroupName"]] = {
            "arn": g["TargetGroupArn"], "port": g.get("Port"), "health_check_path": g.get("HealthCheckPath"),
            "tags": tags.get(g["TargetGroupArn"], {}),
        }
    for lb in elb.describe_load_balancers()["LoadBalancers"]:
        for listener in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]:
            for rule in elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]:
                snap["rule"][rule["RuleArn"]] = {"actions": [_action(a) for a in rule["Actions"]],
                                                 "conditions": rule.get("Conditions", [])}
    targets = aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    for t in targets:
        policies = aas.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=t["ResourceId"])["ScalingPolicies"]
        snap["scalable_target"][t["ResourceId"]] = {
            "min": t["MinCapacity"], "max": t["MaxCapacity"], "policies": sorted(p["PolicyName"] for p in policies),
        }
    for arn in [a for page in ecs.get_paginator("list_task_definitions").paginate() for a in page["taskDefinitionArns"]]:
        described = ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"])
        snap["task_definition"][arn] = {"status": described["taskDefinition"].get("status"),
                                        "tags": _tags(described.get("tags"))}
    return snap


@dataclass(frozen=True)
class Change:
    kind: str
    key: str
    before: Any
    after: Any

    def __str__(self) -> str:
        verb = "created" if self.before is None else "deleted" if self.after is None else "changed"
        return f"{self.kind} {self.key} {verb}: {self.before!r} -> {self.after!r}"


def diff(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> list[Change]:
    changes = []
    for kind in KINDS:
        old, new = before.get(kind, {}), after.get(kind, {})
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                changes.append(Change(kind, key, old.get(key), new.get(key)))
    return changes


def owner(change: Change, before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> Version | None:
    """The (env, service, version) a changed resource belongs to by its tags; None for shared ones (rules)."""
    if change.kind == "scalable_target":
        # service/{cluster}/{name}: the scalable target belongs to its ECS service
        _, cluster, name = change.key.split("/", 2)
        service = after["service"].get(f"{cluster}/{name}") or before["service"].get(f"{cluster}/{name}")
        tags = (service or {}).get("tags", {})
    else:
        tags = {**((change.before or {}).get("tags") or {}), **((change.after or {}).get("tags") or {})}
    found = tuple(tags.get(f"{TAG_PREFIX}{k}") for k in ("env", "service", "version"))
    return found if all(found) else None  # type: ignore[return-value]


def changes_outside(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]],
                    versions: Iterable[Version], *, rules: Iterable[str] = ()) -> list[Change]:
    """Changes to anything that belongs to none of `versions`; rule ARNs in `rules` may change too."""
    allowed, allowed_rules = set(versions), set(rules)
    return [
        c for c in diff(before, after)
        if not (c.kind == "rule" and c.key in allowed_rules) and owner(c, before, after) not in allowed
    ]
