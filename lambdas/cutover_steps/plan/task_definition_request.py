"""The RegisterTaskDefinition request of a plan, from its models (cutover_steps.plan.models) or its views
(cutover_steps.plan.view) alike: `cutover plan` shows what the step sends."""
from __future__ import annotations

from typing import Any


def _container_definition(container: Any, image: str | None, environment: dict[str, str]) -> dict[str, Any]:
    receives_release = container.image is None
    env = dict(container.environment)
    if receives_release:
        env.update(environment)
    definition: dict[str, Any] = {
        "name": container.name,
        "image": image if receives_release else container.image,
        "essential": container.essential,
        "portMappings": [
            {"containerPort": p.container_port, "protocol": p.protocol} for p in container.port_mappings
        ],
        "environment": [{"name": k, "value": v} for k, v in sorted(env.items())],
    }
    optional = {
        "cpu": container.cpu,
        "memory": container.memory,
        "memoryReservation": container.memory_reservation,
        "command": container.command,
        "entryPoint": container.entry_point,
    }
    definition.update({k: v for k, v in optional.items() if v is not None})
    definition.update(container.request_fields())
    if container.secrets:
        definition["secrets"] = [{"name": s.name, "valueFrom": s.value_from} for s in container.secrets]
    if container.log_configuration:
        definition["logConfiguration"] = {
            "logDriver": container.log_configuration.log_driver,
            "options": dict(container.log_configuration.options),
        }
    return definition


def task_definition_request(plan: Any, image: str) -> dict[str, Any]:
    """The RegisterTaskDefinition request: the config's partial definition, completed."""
    td = plan.config.task_definition
    request: dict[str, Any] = {
        "family": td.family,
        "cpu": td.cpu,
        "memory": td.memory,
        "networkMode": td.network_mode,
        "requiresCompatibilities": list(td.requires_compatibilities),
        "containerDefinitions": [_container_definition(c, image, plan.environment) for c in td.containers],
        "tags": [{"key": k, "value": v} for k, v in plan.tags().items()],
    }
    if td.execution_role_arn:
        request["executionRoleArn"] = td.execution_role_arn
    if td.task_role_arn:
        request["taskRoleArn"] = td.task_role_arn
    request.update(td.request_fields())
    return request
