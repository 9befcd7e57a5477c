"""Register the task definition: the config's partial definition completed with image and env.

When the family's latest revision has the same content (by a digest tag), it is reused, so re-runs
add no revision.
A rollback reuses the task definition the retired service still runs.
"""
from __future__ import annotations

from typing import Any

from cutover_steps.decisions import forward as decisions
from cutover_steps.reads import task_definitions
from cutover_steps.adapters import ecs
from cutover_steps.errors import NothingToRollBack
from cutover_steps.decisions.intent import Intent
from cutover_steps.results import TaskDefinition
from cutover_steps.plan.task_definition_request import task_definition_request
from cutover_steps.runtime.step import StepEvent, lambda_step


def apply(request: dict[str, Any], intent: Intent) -> TaskDefinition:
    if not intent.acts:
        return TaskDefinition(intent.after, None, found=intent.why)
    request = {**request, "tags": [*request["tags"], {"key": decisions.DIGEST_TAG, "value": intent.after}]}
    return TaskDefinition(ecs.register_task_definition(request), "registered")


@lambda_step
def handler(event: StepEvent) -> TaskDefinition:
    plan = event.plan
    if plan.image is None:
        running = ecs.service(plan.cluster, plan.ecs_service)
        if running is None:
            raise NothingToRollBack(f"the retired service {plan.ecs_service} is gone; it cannot be brought back")
        return TaskDefinition(running["taskDefinition"], None, found="rollback reuses the retired version's task definition")
    request = task_definition_request(plan, plan.image)
    return apply(request, decisions.task_definition(request, task_definitions.latest_revision(request["family"])))
