"""Register the task definition: the config's partial definition completed with image and env.

A revision with the same content (found by a digest tag) is reused, so re-runs add no revision.
A rollback reuses the task definition the retired service still runs.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from release.adapters import ecs
from release.aws import client
from release.plan import TAG_PREFIX, task_definition_request
from release.results import TaskDefinition
from release.step import StepEvent, lambda_step

DIGEST_TAG = f"{TAG_PREFIX}digest"
REVISIONS_TO_SEARCH = 10


def digest(request: dict[str, Any]) -> str:
    content = {k: v for k, v in request.items() if k != "tags"}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:32]


def find_revision(family: str, wanted: str) -> str | None:
    ecs_client = client("ecs")
    arns = ecs_client.list_task_definitions(
        familyPrefix=family, status="ACTIVE", sort="DESC", maxResults=REVISIONS_TO_SEARCH
    )["taskDefinitionArns"]
    for arn in arns:
        tags = ecs_client.describe_task_definition(taskDefinition=arn, include=["TAGS"]).get("tags") or []
        if {t["key"]: t["value"] for t in tags}.get(DIGEST_TAG) == wanted:
            return arn
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
    existing = find_revision(request["family"], wanted)
    if existing:
        return TaskDefinition(existing, None, found="same content already registered")
    request["tags"].append({"key": DIGEST_TAG, "value": wanted})
    arn = client("ecs").register_task_definition(**request)["taskDefinition"]["taskDefinitionArn"]
    return TaskDefinition(arn, "registered")
