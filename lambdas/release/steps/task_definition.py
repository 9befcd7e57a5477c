"""Register the task definition: the config's partial definition completed with image and env.

When the family's latest revision has the same content (by a digest tag), it is reused, so re-runs
add no revision.
A rollback reuses the task definition the retired service still runs.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from release.adapters import ecs
from release.aws import client
from release.plan_view import TAG_PREFIX
from release.task_definition_request import task_definition_request
from release.results import TaskDefinition
from release.step import StepEvent, lambda_step

DIGEST_TAG = f"{TAG_PREFIX}digest"


def digest(request: dict[str, Any]) -> str:
    content = {k: v for k, v in request.items() if k != "tags"}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:32]


def registered_already(family: str, wanted: str) -> str | None:
    """The family's latest revision when it has this content: one call however many revisions the
    family has (DescribeTaskDefinition of a family alone gives its latest ACTIVE revision). The
    release holds the service's lock, so a re-run finds its own revision there."""
    latest = ecs.task_definition(family)
    if latest and latest["tags"].get(DIGEST_TAG) == wanted:
        return latest["taskDefinitionArn"]
    return None


@lambda_step
def handler(event: StepEvent) -> TaskDefinition:
    plan = event.plan
    if plan.image is None:
        running = ecs.service(plan.cluster, plan.ecs_service)
        if running is None:
            raise ValueError(f"the retired service {plan.ecs_service} is gone; it cannot be brought back")
        return TaskDefinition(running["taskDefinition"], None, found="rollback reuses the retired version's task definition")
    request = task_definition_request(plan, plan.image)
    wanted = digest(request)
    existing = registered_already(request["family"], wanted)
    if existing:
        return TaskDefinition(existing, None, found="same content already registered")
    request["tags"].append({"key": DIGEST_TAG, "value": wanted})
    arn = client("ecs").register_task_definition(**request)["taskDefinition"]["taskDefinitionArn"]
    return TaskDefinition(arn, "registered")
