"""Create the new version's target groups, one per route, tagged so later steps can find them."""
from __future__ import annotations

from typing import Any

from cutover_steps.adapters import elbv2
from cutover_steps.decisions import forward as decisions
from cutover_steps.reads import target_groups
from cutover_steps.decisions.intent import Intent
from cutover_steps.plan.view import PlanView as Plan, RoutePlanView as RoutePlan
from cutover_steps.results import TargetGroups
from cutover_steps.runtime.step import StepEvent, lambda_step


def apply(plan: Plan, route: RoutePlan, intent: Intent) -> dict[str, Any]:
    if not intent.acts:
        return {"route": route.route.name, "name": route.target_group_name, "arn": intent.before, "changed": None}
    hc = route.route.health_check
    created = elbv2.create_target_group(dict(
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
        Tags=[{"Key": k, "Value": v} for k, v in intent.after.items()],
    ))
    return {"route": route.route.name, "name": route.target_group_name, "arn": created["TargetGroupArn"], "changed": "created"}


def ensure(plan: Plan, route: RoutePlan) -> dict[str, Any]:
    return apply(plan, route, decisions.target_group(plan, route, *target_groups.found(route.target_group_name)))


@lambda_step
def handler(event: StepEvent) -> TargetGroups:
    plan = event.plan
    return TargetGroups([ensure(plan, route) for route in plan.routes])
