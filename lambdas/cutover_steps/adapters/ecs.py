"""Amazon ECS: services of a cluster, read in batches, and their tags."""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, Iterator

from botocore.exceptions import ClientError

from cutover_steps.adapters.clients import client
from cutover_steps.decisions.descriptions import tags_of
from cutover_steps.errors import PermissionDenied

DESCRIBE_BATCH = 10  # DescribeServices takes at most 10 services


def cluster_active(cluster: str) -> bool:
    """Whether the cluster exists and is ACTIVE; one this deployment may not use is the config's error."""
    try:
        found = client("ecs").describe_clusters(clusters=[cluster])["clusters"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "AccessDeniedException":
            raise
        # The stack grants the clusters named in its cluster_names setting only: a permission problem, not bad input.
        raise PermissionDenied(
            f"AWS refused ecs:DescribeClusters on cluster {cluster!r} to the step's role: this Cutover deployment "
            "may not release to it; add it to the stack setting cluster_names (cutover:clusterNames) and deploy the "
            f"stack again, or use one of those clusters. AWS said: {error.response['Error'].get('Message', '')}"
        ) from error
    return any(c.get("status") == "ACTIVE" for c in found)


def create_service(request: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """CreateService with the request's clientToken, without reading first: (the service, whether this
    call created it).

    AWS answers a retry of the same request (same token, same parameters) with the service it made,
    older than the call, and refuses any other request for a name in use (InvalidParameterException).
    Either way the service already there is then read, tags included, for the caller to decide on."""
    now = datetime.now(timezone.utc)
    called_at = now.replace(microsecond=now.microsecond // 1000 * 1000)  # createdAt is in milliseconds
    try:
        made = client("ecs").create_service(**request)["service"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "InvalidParameterException":
            raise
        held = service(request["cluster"], request["serviceName"])
        if held is None:
            raise  # a request ECS refuses for itself, not for the name
        return held, False
    created_at = made.get("createdAt")
    if created_at is None or created_at >= called_at:
        return made, True
    return service(request["cluster"], request["serviceName"]) or made, False


def delete_service(cluster: str, name: str) -> None:
    # force: ECS deletes a service that still has tasks (stopping them) without a scale-down first.
    client("ecs").delete_service(cluster=cluster, service=name, force=True)


def register_task_definition(request: dict[str, Any]) -> str:
    """The new revision's ARN."""
    return client("ecs").register_task_definition(**request)["taskDefinition"]["taskDefinitionArn"]


def service(cluster: str, name: str) -> dict[str, Any] | None:
    """The service if it exists and is not deleted (ECS keeps INACTIVE ones around for a while)."""
    found = client("ecs").describe_services(cluster=cluster, services=[name], include=["TAGS"])["services"]
    for description in found:
        if description.get("status") in ("ACTIVE", "DRAINING"):
            return description
    return None


def service_unless_no_cluster(cluster: str, name: str) -> dict[str, Any] | None:
    """`service`, or None when the cluster itself is not there: a plan for a cluster not made yet says
    so itself, and the release stops at LoadRelease, before any step looks for a service in it."""
    try:
        return service(cluster, name)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ClusterNotFoundException":
            raise
        return None


def wait_while_draining(cluster: str, name: str, seconds: float, poll: float = 2.0) -> bool:
    """Wait up to `seconds` for a deleted service's name to be free again; True when it is."""
    deadline = time.monotonic() + seconds
    while True:
        found = client("ecs").describe_services(cluster=cluster, services=[name])["services"]
        if not any(s.get("status") == "DRAINING" for s in found):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)


def describe_many(cluster: str, arns: list[str]) -> Iterator[dict[str, Any]]:
    for start in range(0, len(arns), DESCRIBE_BATCH):
        batch = arns[start : start + DESCRIBE_BATCH]
        yield from client("ecs").describe_services(cluster=cluster, services=batch, include=["TAGS"])["services"]


def task_definition(revision: str) -> dict[str, Any] | None:
    """A revision as DescribeTaskDefinition gives it, with its tags as a dict; None once it is deleted."""
    try:
        found = client("ecs").describe_task_definition(taskDefinition=revision, include=["TAGS"])
    except ClientError as error:
        if error.response["Error"]["Code"] in ("ClientException", "InvalidParameterException"):
            return None
        raise
    if found["taskDefinition"].get("status") == "DELETE_IN_PROGRESS":
        return None
    return {**found["taskDefinition"], "tags": tags_of(found)}


def deregister_task_definition(revision: str) -> None:
    client("ecs").deregister_task_definition(taskDefinition=revision)


def delete_task_definitions(revisions: list[str]) -> dict[str, str]:
    """Delete INACTIVE revisions (at most 10, AWS's limit); the ones ECS refused, with its reason."""
    failures = client("ecs").delete_task_definitions(taskDefinitions=revisions).get("failures", [])
    return {failure.get("arn", ""): failure.get("reason", "refused") for failure in failures}


def tag(arn: str, tags: dict[str, str]) -> None:
    client("ecs").tag_resource(resourceArn=arn, tags=[{"key": k, "value": v} for k, v in tags.items()])


def untag(arn: str, keys: list[str]) -> None:
    client("ecs").untag_resource(resourceArn=arn, tagKeys=keys)


def set_desired(cluster: str, name: str, count: int) -> None:
    client("ecs").update_service(cluster=cluster, service=name, desiredCount=count)

