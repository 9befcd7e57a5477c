"""The plan of a release: every name and setting the steps need, computed once from the input.

`cutover plan` prints this same plan; the Lambda steps receive it in the state data.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from release import naming
from release.config import DeployConfig, Route
from release.plan_view import TAG_PREFIX, PlanReads
from release.task_definition_request import task_definition_request

__all__ = ["TAG_PREFIX", "Plan", "RoutePlan", "build_plan", "release_id_of", "summary", "task_definition_request"]


class RoutePlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    route: Route
    target_group_name: str


class Plan(PlanReads, BaseModel):
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
