"""Create the new version's target groups, one per route, tagged so later steps can find them."""
from __future__ import annotations

from typing import Any

from release.adapters import elbv2
from release.aws import client
from release.errors import TargetGroupConflict
from release.plan_view import TAG_PREFIX, PlanView as Plan, RoutePlanView as RoutePlan
from release.results import TargetGroups
from release.step import StepEvent, lambda_step


def tags_for(plan: Plan, route: RoutePlan) -> dict[str, str]:
    return plan.tags(route=route.route.name, **{"ecs-service": plan.ecs_service})


def ensure(plan: Plan, route: RoutePlan) -> dict[str, Any]:
    wanted = tags_for(plan, route)
    existing = elbv2.target_group_by_name(route.target_group_name)
    if existing:
        tags = elbv2.tags_of([existing["TargetGroupArn"]]).get(existing["TargetGroupArn"], {})
        mine = all(tags.get(f"{TAG_PREFIX}{k}") == wanted[f"{TAG_PREFIX}{k}"] for k in ("env", "service", "version", "route"))
        if not mine:
            raise TargetGroupConflict(
                f"target group {route.target_group_name} exists but is not {plan.env}/{plan.service} "
                f"version {plan.version} route {route.route.name} (its tags: {tags or 'none'}); rename or delete it"
            )
        return {"route": route.route.name, "name": route.target_group_name, "arn": existing["TargetGroupArn"], "changed": None}
    hc = route.route.health_check
    created = client("elbv2").create_target_group(
        Name=route.target_group_name,
        Protocol=route.route.protocol,
        Port=route.route.port,
        VpcId=route.route.vpc_id,
        TargetType="ip" if plan.config.task_definition.network_mode == "awsvpc" else "instance",
        HealthCheckPath=hc.path,
        HealthCheckIntervalSeconds=hc.interval_seconds,
        HealthCheckTimeoutSeconds=hc.timeout_seconds,
        HealthyThresholdCount=hc.healthy_threshold,
        UnhealthyThresholdCount=hc.unhealthy_threshold,
        Matcher={"HttpCode": hc.matcher},
        Tags=[{"Key": k, "Value": v} for k, v in wanted.items()],
    )["TargetGroups"][0]
    return {"route": route.route.name, "name": route.target_group_name, "arn": created["TargetGroupArn"], "changed": "created"}


@lambda_step
def handler(event: StepEvent) -> TargetGroups:
    plan = event.plan
    return TargetGroups([ensure(plan, route) for route in plan.routes])
