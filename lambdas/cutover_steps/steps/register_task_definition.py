"""Register the task definition: the config's partial definition completed with image and env.

When the family's latest revision has the same content (by a digest tag), it is reused, so re-runs
add no revision.
A rollback reuses the task definition the retired service still runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cutover_steps.adapters import ecs
from cutover_steps.decisions import forward as decisions
from cutover_steps.decisions.intent import KEEP, Intent
from cutover_steps.errors import NothingToRollBack
from cutover_steps.plan.task_definition_request import task_definition_request
from cutover_steps.reads import task_definitions
from cutover_steps.results import TaskDefinition
from cutover_steps.runtime.protocol import StepProtocol
from cutover_steps.runtime.step import StepEvent

ROLLBACK_REUSES = "rollback reuses the retired version's task definition"


@dataclass(frozen=True)
class Found:
    # A release: the revision it would register, and the family's latest one.
    request: dict[str, Any] | None = None
    latest: dict[str, Any] | None = None
    # A rollback (no image): the retired service, which runs the revision brought back.
    retired: dict[str, Any] | None = None


@dataclass(frozen=True)
class Decided:
    intent: Intent
    request: dict[str, Any] | None
    refusal: NothingToRollBack | None = None

    @property
    def intents(self) -> list[Intent]:
        return [self.intent]


def read(event: StepEvent) -> Found:
    plan = event.plan
    if plan.image is None:
        return Found(retired=ecs.service(plan.cluster, plan.ecs_service))
    request = task_definition_request(plan, plan.image)
    return Found(request=request, latest=task_definitions.latest_revision(request["family"]))


def decide(event: StepEvent, found: Found) -> Decided:
    if found.request is None:
        service = event.plan.ecs_service
        if found.retired is None:
            refused = NothingToRollBack(f"the retired service {service} is gone; it cannot be brought back")
            return Decided(Intent(KEEP, "task definition", service, why="nothing to bring back"), None, refused)
        arn = found.retired["taskDefinition"]
        return Decided(Intent(KEEP, "task definition", service, before=arn, after=arn, why=ROLLBACK_REUSES), None)
    return Decided(decisions.task_definition(found.request, found.latest), found.request)


def apply(event: StepEvent, decided: Decided) -> TaskDefinition:
    intent = decided.intent
    if not intent.acts:
        return expect(event, decided)
    request = {**decided.request, "tags": [*decided.request["tags"], {"key": decisions.DIGEST_TAG, "value": intent.after}]}
    return TaskDefinition(ecs.register_task_definition(request), "registered")


def expect(event: StepEvent, decided: Decided) -> TaskDefinition:
    """A revision to register has no ARN before ECS gives it one: the family stands for it."""
    intent = decided.intent
    if intent.acts:
        return TaskDefinition(intent.name, "registered")
    return TaskDefinition(intent.after, None, found=intent.why)


STEP = StepProtocol(read, decide, apply, expect)
handler = STEP.handler()
