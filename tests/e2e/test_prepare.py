"""The prepare phase through the real definition: up to the approval wait, then approved."""
from __future__ import annotations

import json

from cutover.operations import executions as operations
from cutover.local import faults
from cutover_steps.errors import ServiceConflict


def test_prepare_phase_stands_up_the_new_version_beside_the_live_one(demo):
    # Given version 1 live behind the public rule
    assert demo.forward(demo.public_rule) == {"demo-web-1": 1}

    # When version 2 is released and reaches the approval wait
    arn = demo.start("2")
    assert operations.wait_for_state(demo.sfn, arn, operations.APPROVAL_STATE, 60)

    # Then the new target group is on the preparing rule, the public rule is untouched,
    assert demo.forward(demo.preparing_rule) == {"demo-web-2": 1}
    assert demo.forward(demo.public_rule) == {"demo-web-1": 1}
    # the new service exists, wired to its target group, with healthy targets
    service = demo.service("web-2")
    group = demo.client("elbv2").describe_target_groups(Names=["demo-web-2"])["TargetGroups"][0]
    assert [lb["targetGroupArn"] for lb in service["loadBalancers"]] == [group["TargetGroupArn"]]
    health = demo.client("elbv2").describe_target_health(TargetGroupArn=group["TargetGroupArn"])["TargetHealthDescriptions"]
    assert sum(d["TargetHealth"]["State"] == "healthy" for d in health) >= 2
    # its task definition carries the release's image, and autoscaling is registered
    task_definition = demo.client("ecs").describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    assert task_definition["containerDefinitions"][0]["image"] == "registry.local/web:2"
    assert demo.scalable_target("web-2")["MinCapacity"] == 2
    # and the approval request was sent with the preparing URL and the commands
    scheduled = [e for e in operations.history(demo.sfn, arn) if e["type"] == "TaskScheduled"][-1]
    payload = json.loads(scheduled["taskScheduledEventDetails"]["parameters"])["Payload"]
    assert payload["task_token"]

    # When the operator approves with the task token
    operations.approve(demo.sfn, arn, by="alice", wait_seconds=30)

    # Then the release goes on to the end
    assert operations.wait(demo.sfn, arn, 120)["status"] == "SUCCEEDED"


def test_auto_approval_skips_the_wait(demo):
    # Given a config whose approval mode is auto
    config = dict(demo.config, release=dict(demo.config["release"], approval={"mode": "auto"}))

    # When a release runs without anyone approving
    result = demo.release("2", approve=False, config=config)

    # Then it finished, and no state waited for a task token
    assert result["status"] == "SUCCEEDED"
    names = {e["stateEnteredEventDetails"]["name"] for e in operations.history(demo.sfn, result["executionArn"]) if e["type"].endswith("StateEntered")}
    assert operations.APPROVAL_STATE not in names


def test_a_failure_before_the_service_exists_leaves_no_target_group_behind(demo):
    # Given the service cannot be created (a service of that name belongs to something else)
    conflict = ServiceConflict("ECS service web-2 exists but was not created for demo version 2")
    with faults.refuse("CreateService", conflict):
        # When version 2 is released
        result = demo.release("2", approve=False)

    # Then it failed saying why, the preparing rule is back on v1, and the new target group is gone
    assert result["status"] == "FAILED"
    assert result["error"] == "ServiceConflict"
    assert "target groups deleted: demo-web-2" in result["cause"]
    assert demo.forward(demo.preparing_rule) == {"demo-web-1": 1}
    assert demo.target_group_names() == {"demo-web-1"}
    assert demo.forward(demo.public_rule) == {"demo-web-1": 1}


def test_an_approval_sent_the_moment_the_token_exists_is_not_lost(demo):
    # Given a release whose approval request has just been scheduled
    arn = demo.start("2")
    token = None
    while token is None:
        for event in operations.history(demo.sfn, arn):
            if event["type"] == "TaskScheduled":
                token = json.loads(event["taskScheduledEventDetails"]["parameters"]).get("Payload", {}).get("task_token")
        assert demo.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"

    # When the decision comes back at once, before the wait has properly begun
    demo.sfn.send_task_success(taskToken=token, output=json.dumps({"decision": "approve", "by": "ci-bot"}))

    # Then the release goes on (rather than waiting out the heartbeat, about an hour)
    assert operations.wait(demo.sfn, arn, 60)["status"] == "SUCCEEDED"
