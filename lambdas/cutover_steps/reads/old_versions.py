"""An old version's ECS service and its scalable target: what RetireOldVersion decides from."""
from __future__ import annotations

from typing import Any

from cutover_steps.adapters import autoscaling, ecs
from cutover_steps.decisions import descriptions, ownership
from cutover_steps.plan.view import PlanView as Plan


def service_found(plan: Plan, name: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The old version's service, and its scalable target when the service is the release's to retire.
    (No cluster, no service: a plan for a cluster that does not exist says so itself.)"""
    service = ecs.service_unless_no_cluster(plan.cluster, name)
    if service is None or not ownership.of_service(plan, descriptions.tags_of(service)):
        return service, None
    return service, autoscaling.snapshot(plan.cluster, name)
