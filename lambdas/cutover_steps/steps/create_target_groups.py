"""Create the new version's target groups, one per route, tagged so later steps can find them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cutover_steps.adapters import elbv2
from cutover_steps.decisions import forward as decisions, ownership
from cutover_steps.decisions.intent import Intent
from cutover_steps.errors import TargetGroupConflict
from cutover_steps.plan.view import PlanView as Plan, RoutePlanView as RoutePlan
from cutover_steps.reads import target_groups
from cutover_steps.results import TargetGroups
from cutover_steps.runtime.protocol import StepProtocol
from cutover_steps.runtime.step import StepEvent

Found = dict[str, tuple[dict[str, Any] | None, dict[str, str]]]


@dataclass(frozen=True)
class Decided:
    # Route name -> its group's intent; a route whose name someone else's group holds has none.
    by_route: dict[str, Intent]
    # Route name -> who holds its name (`ownership.describe`): the step is refused.
    taken_by: dict[str, str]
    refusal: TargetGroupConflict | None

    @property
    def intents(self) -> list[Intent]:
        return list(self.by_route.values())


def read(event: StepEvent) -> Found:
    """Each route's group, found by its planned name, with its tags."""
    return {route.route.name: target_groups.found(route.target_group_name) for route in event.plan.routes}


def decide(event: StepEvent, found: Found) -> Decided:
    by_route, taken_by, refusal = {}, {}, None
    for route in event.plan.routes:
        existing, tags = found[route.route.name]
        try:
            by_route[route.route.name] = decisions.target_group(event.plan, route, existing, tags)
        except TargetGroupConflict as conflict:
            taken_by[route.route.name] = ownership.describe(tags)
            refusal = refusal or conflict
    return Decided(by_route, taken_by, refusal)


def create(plan: Plan, route: RoutePlan, intent: Intent) -> dict[str, Any]:
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


def apply(event: StepEvent, decided: Decided) -> TargetGroups:
    return TargetGroups([create(event.plan, route, decided.by_route[route.route.name]) for route in event.plan.routes])


def expect(event: StepEvent, decided: Decided) -> TargetGroups:
    return TargetGroups([
        {"route": route.route.name, "name": route.target_group_name,
         "arn": intent.before if (intent := decided.by_route.get(route.route.name)) and not intent.acts else None,
         "changed": "created" if intent and intent.acts else None}
        for route in event.plan.routes
    ])


STEP = StepProtocol(read, decide, apply, expect)
handler = STEP.handler()
