"""Helpers of the safety tests: what a person would look at in AWS after a release went wrong."""
from __future__ import annotations

import copy
import json
from typing import Any

from cutover.operations import executions as operations
from cutover.local.engine import TABLE_NAME

LOCK_KEY = "lock#demo#web"
OBSOLETE_TAG = "cutover:obsolete-since"


def config_with(demo, **release: Any) -> dict[str, Any]:
    """The demo config with some `release` settings replaced; approval is automatic unless given."""
    config = copy.deepcopy(demo.config)
    config["release"] = {**config["release"], "approval": {"mode": "auto"}, **release}
    return config


def start(demo, version: str, config: dict[str, Any], name: str | None = None) -> str:
    return demo.start(version, config=config, name=name)


def finish(demo, arn: str, timeout: float = 120) -> dict[str, Any]:
    """The execution's end, once what EventBridge sends on a bad end has been handled too."""
    ended = operations.wait(demo.sfn, arn, timeout)
    demo.engine.wait_for_status_changes()
    return ended


def lock_item(demo) -> dict[str, Any] | None:
    return demo.client("dynamodb").get_item(TableName=TABLE_NAME, Key={"pk": {"S": LOCK_KEY}}).get("Item")


def tags(demo, service: str) -> dict[str, str]:
    return {t["key"]: t["value"] for t in (demo.service(service) or {}).get("tags") or []}


def entered(demo, arn: str) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in operations.history(demo.sfn, arn) if e["type"].endswith("StateEntered")]


def failed_lambda_errors(demo, arn: str) -> list[str]:
    return [e["lambdaFunctionFailedEventDetails"].get("error") for e in operations.history(demo.sfn, arn)
            if e["type"] == "LambdaFunctionFailed"]


def subscribe_queue(demo) -> str:
    """An SQS queue subscribed to the notification topic, as a chat integration would be."""
    sqs = demo.client("sqs")
    url = sqs.create_queue(QueueName="notifications")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    demo.client("sns").subscribe(TopicArn=demo.engine.topic_arn, Protocol="sqs", Endpoint=arn)
    return url


def notifications(demo, url: str) -> list[dict]:
    messages = demo.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def world(demo) -> dict[str, Any]:
    """Everything a release could create or change, in a form two snapshots can be compared in."""
    elbv2, ecs = demo.client("elbv2"), demo.client("ecs")
    services = []
    arns = ecs.list_services(cluster="demo")["serviceArns"]
    if arns:
        services = ecs.describe_services(cluster="demo", services=arns, include=["TAGS"])["services"]
    return {
        "target_groups": sorted(g["TargetGroupName"] for g in elbv2.describe_target_groups()["TargetGroups"]),
        "services": sorted(
            (s["serviceName"], s["status"], s["desiredCount"], json.dumps(sorted((t["key"], t["value"]) for t in s.get("tags") or [])))
            for s in services
        ),
        "task_definitions": sorted(ecs.list_task_definitions()["taskDefinitionArns"]),
        "preparing_rule": demo.forward(demo.preparing_rule),
        "public_rule": demo.forward(demo.public_rule),
        "scalable_targets": sorted(
            (t["ResourceId"], t["MinCapacity"], t["MaxCapacity"])
            for t in demo.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
        ),
        # The ledger writes every ended execution, a refused one too, asynchronously: an audit of the
        # attempt, not a change of the release's.
        "release_table": sorted(
            item["pk"]["S"] for item in demo.client("dynamodb").scan(TableName=TABLE_NAME)["Items"]
            if not item["pk"]["S"].startswith("ledger#")
        ),
    }


def assert_v1_serves_as_before(demo) -> None:
    """v1 alone behind the public rule, at its count, with its autoscaling."""
    assert demo.forward(demo.public_rule) == {"demo-web-1": 1}
    assert demo.service("web-1")["desiredCount"] == 2
    target = demo.scalable_target("web-1")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 6)
    policies = demo.client("application-autoscaling").describe_scaling_policies(
        ServiceNamespace="ecs", ResourceId="service/demo/web-1")["ScalingPolicies"]
    assert [p["PolicyName"] for p in policies] == ["cpu"]


def assert_torn_down(demo, service: str) -> None:
    """A prepared version after its undo: kept, at zero, its autoscaling parked, marked obsolete."""
    assert demo.service(service)["desiredCount"] == 0
    # parked when it got its autoscaling (a preparation that failed before that leaves none)
    assert demo.scalable_target(service) is None or demo.parked(service)
    assert OBSOLETE_TAG in tags(demo, service)
