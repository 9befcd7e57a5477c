"""Paths of the definition that depend on what each function may do, run with IAM enforced."""
from __future__ import annotations

import copy
import socket

import pytest

from cutover.operations import executions as operations
from cutover.local import environment
from cutover.local.engine import LocalEngine
from cutover.local.iam import policies
from tests.conftest import Demo
from tests.e2e.safety_fixtures import assert_v1_serves_as_before, config_with, finish, lock_item, start
from tests.e2e.test_safety_alarms import ALARM, HOLD_STATE, create_alarm, set_alarm

pytestmark = pytest.mark.e2e


@pytest.fixture
def server_demo():
    """The demo environment in the local engine's server mode, as `cutover sandbox up` runs it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with LocalEngine(port=port, task_start_seconds=0.2) as engine:
        env = environment.create(engine.client)
        config = environment.demo_config(env.values)
        config["release"]["traffic_steps"] = [{"percent": 100, "hold_seconds": 0}]
        environment.bootstrap_live_version(engine.client, copy.deepcopy(config))
        yield Demo(engine=engine, env=env, config=config)


@pytest.mark.parametrize("mode", ["in-process", "server"])
def test_a_call_the_role_lacks_fails_the_release_as_on_aws(request, monkeypatch, mode):
    demo = request.getfixturevalue("demo" if mode == "in-process" else "server_demo")
    # Given a stack whose RecordRelease role grants UpdateItem but not GetItem (as it once did)
    doctored = copy.deepcopy(policies.load())
    for statement in doctored["functions"]["RecordRelease"]["statements"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        statement["Action"] = [a for a in actions if a != "dynamodb:GetItem"] or ["dynamodb:UpdateItem"]
    monkeypatch.setattr(policies, "load", lambda: doctored)

    # When a release runs
    result = finish(demo, start(demo, "2", config_with(demo)))

    # Then the step fails with DynamoDB's AccessDeniedException naming the missing permission, as on AWS
    history = operations.history(demo.sfn, result["executionArn"])
    causes = [e["lambdaFunctionFailedEventDetails"].get("cause", "") for e in history if e["type"] == "LambdaFunctionFailed"]
    assert any("AccessDeniedException" in c and "dynamodb:GetItem" in c and "cutover-RecordRelease" in c for c in causes)


def test_alarm_during_traffic_with_delete_on_prepare_failure_deletes_the_new_version(demo):
    # Given a config that deletes a failed version, and a watched alarm
    create_alarm(demo)
    config = config_with(demo, alarm_names=[ALARM], alarm_check_seconds=1, on_prepare_failure="delete",
                         traffic_steps=[{"percent": 50, "hold_seconds": 60}, {"percent": 100, "hold_seconds": 0}])
    arn = start(demo, "2", config)
    assert operations.wait_for_state(demo.sfn, arn, HOLD_STATE, 60)

    # When the alarm fires while old and new serve together
    set_alarm(demo, "ALARM")
    result = finish(demo, arn)

    # Then traffic is back on v1, and v2's service and target group are deleted (not kept at zero)
    assert result["error"] == "AlarmFired", result.get("cause")
    assert "service: deleted" in result["cause"], result["cause"]
    assert demo.service("web-2") is None
    assert "demo-web-2" not in demo.target_group_names()
    assert_v1_serves_as_before(demo)
    assert lock_item(demo) is None


def test_cleanup_reads_only_the_released_services_versions(demo):
    # Given another team's service in the same cluster, outside the service names the stack grants
    ecs = demo.client("ecs")
    task_definition = ecs.register_task_definition(
        family="billing", containerDefinitions=[{"name": "billing", "image": "billing:1", "memory": 256}])["taskDefinition"]
    ecs.create_service(cluster="demo", serviceName="billing-7", taskDefinition=task_definition["taskDefinitionArn"],
                       desiredCount=0)

    # When two releases run (the second one cleans up what the first retired)
    assert demo.release("2")["status"] == "SUCCEEDED"
    result = demo.release("3")

    # Then both succeed, v1 is deleted, and the other team's service is untouched
    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert demo.service("web-1") is None
    assert demo.service("billing-7") is not None
