"""Application Auto Scaling of an ECS service: read, remember, park at zero and restore."""
from __future__ import annotations

from typing import Any

from cutover_steps.adapters.clients import client
from cutover_steps.decisions.descriptions import PARKED, SUSPENDED

NAMESPACE = "ecs"
DIMENSION = "ecs:service:DesiredCount"


def resource_id(cluster: str, service: str) -> str:
    return f"service/{cluster}/{service}"


def snapshot(cluster: str, service: str) -> dict[str, Any] | None:
    """The scalable target and its policies as a restorable record, or None when there is none."""
    rid = resource_id(cluster, service)
    aas = client("application-autoscaling")
    targets = aas.describe_scalable_targets(
        ServiceNamespace=NAMESPACE, ResourceIds=[rid], ScalableDimension=DIMENSION
    )["ScalableTargets"]
    if not targets:
        return None
    # AWS answers ten policies a page (its most) and a scalable target may have fifty: read every page.
    pages = aas.get_paginator("describe_scaling_policies").paginate(
        ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION
    )
    policies = [policy for page in pages for policy in page["ScalingPolicies"]]
    return {
        "min": targets[0]["MinCapacity"],
        "max": targets[0]["MaxCapacity"],
        "suspended": {key: bool((targets[0].get("SuspendedState") or {}).get(key)) for key in SUSPENDED},
        "policies": [
            {
                "name": p["PolicyName"],
                "type": p["PolicyType"],
                "target_tracking": _plain(p.get("TargetTrackingScalingPolicyConfiguration")),
            }
            for p in policies
        ],
    }


def _plain(value: Any) -> Any:
    """Drop non-JSON values (datetimes) so the record fits the state data and DynamoDB."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def park(cluster: str, service: str) -> None:
    """Hold the service at zero, its scaling suspended, keeping every policy and scheduled action."""
    client("application-autoscaling").register_scalable_target(
        ServiceNamespace=NAMESPACE, ResourceId=resource_id(cluster, service), ScalableDimension=DIMENSION,
        MinCapacity=0, MaxCapacity=0, SuspendedState=dict(PARKED["suspended"]),
    )


def set_bounds(cluster: str, service: str, minimum: int, maximum: int) -> None:
    """Register the scalable target with new bounds; its policies stay (RegisterScalableTarget updates)."""
    client("application-autoscaling").register_scalable_target(
        ServiceNamespace=NAMESPACE, ResourceId=resource_id(cluster, service), ScalableDimension=DIMENSION,
        MinCapacity=minimum, MaxCapacity=maximum,
    )


def restore(cluster: str, service: str, record: dict[str, Any], policies: bool = True) -> None:
    """Register the scalable target with its bounds and suspension as recorded (none recorded: not
    suspended), then, unless `policies` is False (a parked target kept its own), put its
    target-tracking policies back (both calls are upserts)."""
    rid = resource_id(cluster, service)
    aas = client("application-autoscaling")
    suspended = record.get("suspended") or {}
    aas.register_scalable_target(
        ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION,
        MinCapacity=int(record["min"]), MaxCapacity=int(record["max"]),
        SuspendedState={key: bool(suspended.get(key)) for key in SUSPENDED},
    )
    for policy in record.get("policies", []) if policies else []:
        if policy.get("type") != "TargetTrackingScaling" or not policy.get("target_tracking"):
            continue
        aas.put_scaling_policy(
            PolicyName=policy["name"], ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION,
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration=_numbers(policy["target_tracking"]),
        )


def _numbers(config: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB hands numbers back as Decimal; the SDK wants int/float."""
    out = dict(config)
    for key in ("TargetValue",):
        if key in out:
            out[key] = float(out[key])
    for key in ("ScaleInCooldown", "ScaleOutCooldown"):
        if key in out:
            out[key] = int(out[key])
    return out
