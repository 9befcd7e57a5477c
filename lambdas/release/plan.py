"""The plan of a release: every name and setting the steps need, computed once from the input.

`cutover plan` prints this same plan; the Lambda steps receive it in the state data.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from release import naming
from release.config import Container, DeployConfig, Route

TAG_PREFIX = "cutover:"


class RoutePlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    route: Route
    target_group_name: str


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True)

    action: Literal["release", "rollback"]
    release_id: str
    env: str
    version: str
    image: str | None
    environment: dict[str, str]
    config: DeployConfig
    cluster: str
    ecs_service: str
    lock_key: str
    record_key: str
    routes: list[RoutePlan]
    approval_heartbeat_seconds: int
    # Whether checks run on the prepared version: the definition's Choice skips the step when none do.
    verify_prepared: bool = False
    # A rollback's: the desired count and autoscaling the version had when it was retired.
    restore: dict[str, Any] | None = None

    @property
    def service(self) -> str:
        return self.config.service

    def tags(self, **extra: str) -> dict[str, str]:
        """Tags on everything a release creates: how cleanup and rollback find their way back."""
        base = {
            f"{TAG_PREFIX}env": self.env,
            f"{TAG_PREFIX}service": self.service,
            f"{TAG_PREFIX}version": self.version,
            f"{TAG_PREFIX}release": self.release_id,
        }
        base.update({f"{TAG_PREFIX}{k}": v for k, v in extra.items()})
        return base


def release_id_of(start_input: Any) -> str:
    """The release, not the execution: the same start input gives the same id, so a retried step,
    a re-started execution and a redriven one all recognise what the first one created."""
    canonical = json.dumps(start_input, sort_keys=True, separators=(",", ":"))
    return "r-" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


def build_plan(
    *,
    action: str,
    env: str,
    version: str,
    image: str | None,
    environment: dict[str, str],
    config: DeployConfig,
    release_id: str,
    names: dict[str, Any] | None = None,
    restore: dict[str, Any] | None = None,
) -> Plan:
    """`names` ({"ecs_service", "target_groups": {route: name}}) are the names a version actually has,
    from the release record, when they are not Cutover's own: an adopted version's."""
    many = len(config.routes) > 1
    given = (names or {}).get("target_groups") or {}
    routes = [
        RoutePlan(
            route=route,
            target_group_name=given.get(route.name) or naming.target_group_name(
                env, config.service, version, route.name if many else None
            ),
        )
        for route in config.routes
    ]
    group_names = [r.target_group_name for r in routes]
    if len(set(group_names)) != len(group_names):
        raise ValueError(f"routes give the same target group name twice: {group_names}")
    approval = config.release.approval
    return Plan(
        action=action,
        release_id=release_id,
        env=env,
        version=version,
        image=image,
        environment=environment,
        config=config,
        cluster=naming.cluster_name(config.cluster),
        ecs_service=(names or {}).get("ecs_service") or naming.service_name(config.service, version),
        lock_key=naming.lock_key(config.cluster, config.service),
        record_key=naming.record_key(env, config.service),
        routes=routes,
        approval_heartbeat_seconds=approval.heartbeat_seconds or approval.timeout_seconds - 60,
        verify_prepared=bool(config.release.checks("prepared")),
        restore=restore,
    )


def _container_definition(container: Container, image: str | None, environment: dict[str, str]) -> dict[str, Any]:
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


def task_definition_request(plan: Plan, image: str) -> dict[str, Any]:
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


def summary(plan: Plan) -> dict[str, Any]:
    """What a release would create and change, for people: `cutover plan` and the audit."""
    settings = plan.config.service_settings
    return {
        "action": plan.action,
        "env": plan.env,
        "service": plan.service,
        "version": plan.version,
        "image": plan.image,
        "cluster": plan.cluster,
        "ecs_service": plan.ecs_service,
        "desired_count": settings.desired_count,
        "autoscaling": settings.autoscaling.model_dump() if settings.autoscaling else None,
        "task_definition_family": plan.config.task_definition.family,
        "routes": [
            {
                "route": r.route.name,
                "target_group": r.target_group_name,
                "preparing_rule": r.route.preparing_rule_arn,
                "public_rule": r.route.public_rule_arn,
            }
            for r in plan.routes
        ],
        "required_healthy": plan.config.required_healthy,
        "approval": plan.config.release.approval.mode,
        "traffic_steps": [s.model_dump() for s in plan.config.release.traffic_steps],
        "bake_seconds": plan.config.release.bake_seconds,
        "alarms": list(plan.config.release.alarm_names),
        "checks": [{"name": c.name, "kind": "http" if c.http else "lambda", "when": list(c.when)}
                   for c in plan.config.release.verify],
    }
