"""What the new version's ECS service is made of: its CreateService request and its autoscaling,
from the plan. The CreateService step sends them; `cutover plan` shows them beside the live version's.
"""
from __future__ import annotations

import json
from typing import Any

from cutover_steps.decisions import capacity
from cutover_steps.plan import naming
from cutover_steps.plan.view import PlanView as Plan


def create_request(plan: Plan, task_definition: str, groups: dict[str, str]) -> dict[str, Any]:
    settings = plan.config.service_settings
    request: dict[str, Any] = {
        "cluster": plan.cluster,
        "serviceName": plan.ecs_service,
        "taskDefinition": task_definition,
        # Following traffic, it starts at what the health gate needs (release.capacity).
        "desiredCount": capacity.starting_count(plan.config),
        "loadBalancers": [
            {"targetGroupArn": groups[r.route.name], "containerName": r.route.container, "containerPort": r.route.port}
            for r in plan.routes
        ],
        "healthCheckGracePeriodSeconds": settings.health_check_grace_period_seconds,
        "tags": [{"key": k, "value": v} for k, v in plan.tags().items()],
        "propagateTags": "SERVICE",
        "enableECSManagedTags": True,
    }
    if settings.launch_type:
        request["launchType"] = settings.launch_type
    else:
        request["capacityProviderStrategy"] = [
            {"capacityProvider": c.capacity_provider, "weight": c.weight, "base": c.base}
            for c in settings.capacity_provider_strategy
        ]
    if settings.platform_version:
        request["platformVersion"] = settings.platform_version
    if settings.network:
        request["networkConfiguration"] = {
            "awsvpcConfiguration": {
                "subnets": list(settings.network.subnets),
                "securityGroups": list(settings.network.security_groups),
                "assignPublicIp": "ENABLED" if settings.network.assign_public_ip else "DISABLED",
            }
        }
    request.update(settings.request_fields())
    # The token stands for the request itself: a retry sends the same one and gets the service it
    # made, while a new attempt with other target groups (after a teardown deleted the first
    # service) sends a new one, which ECS would otherwise refuse as "not idempotent".
    request["clientToken"] = naming.client_token(json.dumps(request, sort_keys=True, default=str))
    return request


def resource_label(load_balancer: str, target_group_arn: str) -> str:
    """What ALBRequestCountPerTarget counts: `app/<lb-name>/<lb-id>/targetgroup/<tg-name>/<tg-id>`."""
    return f"{load_balancer}/{target_group_arn.split(':')[-1]}"


def metric_specification(plan: Plan, policy: Any, groups: dict[str, str]) -> dict[str, str]:
    specification = {"PredefinedMetricType": policy.metric}
    if policy.metric == "ALBRequestCountPerTarget":
        # AWS requires the label: the new version's target group of the policy's route.
        route = plan.config.request_count_route(policy)
        specification["ResourceLabel"] = resource_label(route.load_balancer, groups[route.name])
    return specification


def configured_autoscaling(plan: Plan, groups: dict[str, str]) -> dict[str, Any] | None:
    scaling = plan.config.service_settings.autoscaling
    if scaling is None:
        return None
    bounds = capacity.bounds_for(plan.config, capacity.starting_count(plan.config), 0)
    return {
        "min": bounds["min"],
        "max": bounds["max"],
        "policies": [
            {
                "name": p.name,
                "type": "TargetTrackingScaling",
                "target_tracking": {
                    "TargetValue": p.target,
                    "PredefinedMetricSpecification": metric_specification(plan, p, groups),
                    "ScaleInCooldown": p.scale_in_cooldown_seconds,
                    "ScaleOutCooldown": p.scale_out_cooldown_seconds,
                },
            }
            for p in scaling.policies
        ],
    }
