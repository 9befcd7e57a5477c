"""What a release changes in the task definition and the service, field by field: the requests the
steps would send for the new version, set beside what the live version runs (`cutover plan`).

Both sides go through the same projection onto the fields a deploy config sets, so that the values
AWS fills in on its own (a container's `cpu: 0`, empty lists) do not show as changes.
"""
from __future__ import annotations

from typing import Any

# Container fields a deploy config sets, and the value AWS reports when the config left one out.
CONTAINER_DEFAULTS: dict[str, Any] = {
    "image": None, "essential": True, "cpu": 0, "memory": None, "memoryReservation": None,
    "command": [], "entryPoint": [], "portMappings": [], "environment": {}, "secrets": {}, "logConfiguration": None,
}
TASK_FIELDS = ("cpu", "memory", "networkMode", "requiresCompatibilities", "executionRoleArn", "taskRoleArn")


def _container(definition: dict[str, Any]) -> dict[str, Any]:
    fields = {key: definition.get(key) for key in CONTAINER_DEFAULTS}
    fields["portMappings"] = sorted(f"{p['containerPort']}/{p.get('protocol', 'tcp')}" for p in definition.get("portMappings") or [])
    fields["environment"] = {e["name"]: e["value"] for e in definition.get("environment") or []}
    fields["secrets"] = {s["name"]: s["valueFrom"] for s in definition.get("secrets") or []}
    return {key: value for key, value in fields.items() if value not in (None, CONTAINER_DEFAULTS[key])}


def task_definition_fields(definition: dict[str, Any]) -> dict[str, Any]:
    """A RegisterTaskDefinition request or a DescribeTaskDefinition answer, as comparable fields."""
    fields: dict[str, Any] = {key: definition.get(key) for key in TASK_FIELDS if definition.get(key) is not None}
    if "requiresCompatibilities" in fields:
        fields["requiresCompatibilities"] = sorted(fields["requiresCompatibilities"])
    for container in definition.get("containerDefinitions") or []:
        for key, value in _container(container).items():
            fields[f"containers[{container['name']}].{key}"] = value
    return fields


def service_fields(service: dict[str, Any], autoscaling: dict[str, Any] | None) -> dict[str, Any]:
    """A CreateService request or a DescribeServices answer (and its scaling), as comparable fields."""
    network = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
    fields = {
        "desired_count": service.get("desiredCount"),
        "launch_type": service.get("launchType"),
        "capacity_provider_strategy": [f"{c['capacityProvider']} weight {c.get('weight', 0)} base {c.get('base', 0)}"
                                       for c in service.get("capacityProviderStrategy") or []] or None,
        "platform_version": service.get("platformVersion"),
        "health_check_grace_period_seconds": service.get("healthCheckGracePeriodSeconds"),
        "network.subnets": sorted(network.get("subnets") or []) or None,
        "network.security_groups": sorted(network.get("securityGroups") or []) or None,
        # DISABLED is what ECS assumes, and reports, when a request leaves it out.
        "network.assign_public_ip": network.get("assignPublicIp") or ("DISABLED" if network else None),
        "autoscaling": f"{autoscaling['min']}..{autoscaling['max']}" if autoscaling else None,
    }
    # ECS reports LATEST for a Fargate service created without a platform version.
    if fields["platform_version"] == "LATEST":
        fields["platform_version"] = None
    return {key: value for key, value in fields.items() if value is not None}


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Each field whose value differs, in a stable order: {field, before, after} (None: not set)."""
    return [{"field": key, "before": before.get(key), "after": after.get(key)}
            for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)]
