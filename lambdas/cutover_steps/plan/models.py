"""The plan of a release: every name and setting the steps need, computed once from the input.

`cutover plan` prints this same plan; the Lambda steps receive it in the state data.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from cutover_steps.config.models import DeployConfig, Route
from cutover_steps.plan.view import TAG_PREFIX, PlanReads, plan_fields, release_id_of, summary
from cutover_steps.plan.task_definition_request import task_definition_request

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
    approval_needed: bool = True
    # Whether checks run on the prepared version: the definition's Choice skips the step when none do.
    verify_prepared: bool = False
    # A rollback's: the desired count and autoscaling the version had when it was retired.
    restore: dict[str, Any] | None = None


def build_plan(**inputs: Any) -> Plan:
    """The plan as a model, for the command line (LoadRelease builds the same with `plan_view.plan_data`);
    takes `plan_view.plan_fields`' arguments."""
    fields = plan_fields(**inputs)
    return Plan(**{**fields, "routes": [RoutePlan(**route) for route in fields["routes"]]})
