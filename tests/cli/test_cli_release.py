"""Releases through the command line against the local engine (in-process moto, the real definition).

One engine per module: the plan of a fresh environment first, then a live version 1, a release of
version 2 approved from a second "terminal", and a release of version 3 rejected.
"""
from __future__ import annotations

import json
import re
import threading
import time

import pytest

from cutover.operations import executions as operations
from tests.cli.helpers import cutover

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def released_v2(engine, live):
    """`cutover start --wait` for version 2, approved by `cutover approve` from another terminal."""
    approval = {}

    def operator() -> None:
        # The operator acts on a release that exists: wait for `start` to have created it.
        sfn = engine.client("stepfunctions")
        arn = operations.execution_arn(engine.state_machine_arn, "web-2")
        for _ in range(300):
            try:
                sfn.describe_execution(executionArn=arn)
                break
            except sfn.exceptions.ExecutionDoesNotExist:
                time.sleep(0.1)
        approval["result"] = cutover("approve", "web-2", "--wait-seconds", "60", "--comment", "checked /health", "--by", "alice")

    approver = threading.Thread(target=operator)
    approver.start()
    result = cutover("start", "--env", "demo", "--version", "2", "--image", "web:2",
                     "--config", live["config_path"], "--name", "web-2", "--wait", "--poll", "0.5")
    approver.join(60)
    return result, approval["result"]


def _public_forward(engine, demo) -> dict[str, int]:
    rule = engine.client("elbv2").describe_rules(RuleArns=[demo["config"]["routes"][0]["public_rule_arn"]])["Rules"][0]
    action = next(a for a in rule["Actions"] if a["Type"] == "forward")
    groups = action.get("ForwardConfig", {}).get("TargetGroups") or [{"TargetGroupArn": action["TargetGroupArn"], "Weight": 1}]
    return {g["TargetGroupArn"].split("/")[1]: g.get("Weight", 1) for g in groups}


def test_plan_on_a_fresh_environment_creates_everything_and_retires_nothing(engine, demo):
    # Given an environment where no version of the service exists yet
    # When the first release is planned
    result = cutover("plan", "--env", "demo", "--version", "1", "--image", "web:1", "--config", demo["config_path"])
    # Then it would create the target group and service, and there is nothing to retire or delete
    assert result.code == 0, result.err
    assert "demo-web-1" in result.out and "web-1" in result.out
    assert "now no version" in result.out
    assert "Would retire\n  nothing" in result.out
    # And planning touched nothing
    assert engine.client("elbv2").describe_target_groups()["TargetGroups"] == []


def test_plan_says_the_new_version_s_autoscaling_would_be_registered(engine, live):
    # Given version 1 serving, with autoscaling 2..6 and a cpu policy in the config
    # When version 2 is planned
    result = cutover("plan", "--env", "demo", "--version", "2", "--image", "web:2", "--config", live["config_path"])
    # Then the plan shows the scalable target the release would register with the new service
    assert result.code == 0, result.err
    assert re.search(r"scalable target  web-2 +2\.\.6, policies cpu \(registered\)", result.out), result.out


def test_plan_with_a_live_version_shows_what_is_replaced_and_retired(engine, live):
    # Given version 1 serving the public rule
    # When version 2 is planned
    result = cutover("plan", "--env", "demo", "--version", "2", "--image", "web:2", "--config", live["config_path"], "--output", "json")
    # Then the plan reads the live version and would retire it with its autoscaling remembered
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["routes"][0]["public_now"][0]["version"] == "1"
    assert report["routes"][0]["target_group"] == "demo-web-2"
    assert report["retire"][0]["ecs_service"] == "web-1"
    assert report["retire"][0]["autoscaling"]["min"] == 2
    assert not report["ecs_service_exists"]
    # And nothing was created
    names = [g["TargetGroupName"] for g in engine.client("elbv2").describe_target_groups()["TargetGroups"]]
    assert names == ["demo-web-1"]


def test_plan_shows_what_changes_against_the_live_version_field_by_field(engine, live):
    # Given version 1 serving the public rule
    # When version 2 is planned with a new image and a deploy-time variable
    args = ("plan", "--env", "demo", "--version", "2", "--image", "web:2", "--config", live["config_path"],
            "--env-var", "FEATURE_X=on")
    text, report = cutover(*args), json.loads(cutover(*args, "--output", "json").out)
    # Then the differences name the container fields that change, old and new, and nothing AWS filled in itself
    assert text.code == 0, text.err
    changes = {c["field"]: (c["before"], c["after"]) for c in report["diff"]["task_definition"]}
    assert changes["containers[web].image"][1] == "web:2" and changes["containers[web].image"][0] != "web:2"
    # (values hidden: a plain value may be a secret nobody marked as one)
    assert changes["containers[web].environment"][1]["FEATURE_X"] == "(hidden)" and "=on" not in text.out
    assert "FEATURE_X" not in changes["containers[web].environment"][0]
    assert not any(field.endswith(".cpu") or field.endswith(".essential") for field in changes)
    assert report["diff"]["against"]["ecs_service"] == "web-1"
    assert "Differences from the live version web-1 (v1" in text.out
    assert "containers[web].image" in text.out and "-> web:2" in text.out


def one_file_for_two_envs(engine, live, tmp_path) -> str:
    """The demo config for envs demo and production; production's VPC from a CloudFormation output and
    its cluster from an SSM parameter, as a platform team's shared stacks publish them."""
    config = dict(live["config"])
    vpc, cluster = config["routes"][0]["vpc_id"], config["cluster"]
    engine.client("ssm").put_parameter(Name="/platform/cluster", Value=cluster, Type="String")
    engine.client("cloudformation").create_stack(StackName="network", TemplateBody=json.dumps({
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"VpcId": {"Value": vpc}}}))
    config["environments"] = {
        "demo": {},
        "production": {"cluster": "${ssm:/platform/cluster}", "service_settings": {"desired_count": 3},
                       "routes": [{**config["routes"][0], "vpc_id": "${cfn:network.VpcId}"}]},
    }
    path = tmp_path / "deploy.yaml"
    path.write_text(json.dumps(config))
    return str(path)


def test_render_prints_the_config_of_one_env_merged_and_resolved(engine, live, tmp_path):
    path = one_file_for_two_envs(engine, live, tmp_path)
    # When production's config is rendered
    result = cutover("render", "--env", "production", "--config", path, "--output", "json")
    # Then it is the base with production's settings over it, and its references resolved
    assert result.code == 0, result.err
    rendered = json.loads(result.out)
    assert rendered["service_settings"]["desired_count"] == 3
    assert rendered["cluster"] == live["config"]["cluster"]
    assert rendered["routes"][0]["vpc_id"] == live["config"]["routes"][0]["vpc_id"]
    assert "environments" not in rendered
    # And the same file plans a release to production with those values
    plan = json.loads(cutover("plan", "--env", "production", "--version", "2", "--image", "web:2",
                              "--config", path, "--output", "json").out)
    assert plan["plan"]["desired_count"] == 3 and plan["routes"][0]["target_group"] == "production-web-2"


def test_a_reference_that_cannot_be_resolved_is_named_and_nothing_starts(engine, live, tmp_path):
    config = dict(live["config"], cluster="${ssm:/platform/missing}")
    path = tmp_path / "deploy.yaml"
    path.write_text(json.dumps(config))
    result = cutover("start", "--env", "demo", "--version", "9", "--image", "web:9", "--config", str(path))
    assert result.code == 2
    assert "cluster: ${ssm:/platform/missing} cannot be read: ParameterNotFound" in result.err
    executions = engine.client("stepfunctions").list_executions(stateMachineArn=engine.state_machine_arn)["executions"]
    assert not any(e["name"].startswith("web-demo-9") for e in executions)


def test_start_wait_follows_the_release_and_approve_lets_it_through(engine, live, released_v2):
    result, approval = released_v2
    # Then the operator's approval went through, and start --wait saw the release succeed
    assert approval.code == 0, approval.err
    assert "Approved web-2 as alice" in approval.out
    assert result.code == 0, result.out + result.err
    assert "web-2: SUCCEEDED" in result.out
    # And the live view showed health and the traffic steps as they happened (a plain log: no cursor codes)
    assert "demo-web-2 2/2 healthy" in result.out
    assert "50% to new" in result.out
    assert "\033[" not in result.out
    # And the public rule now forwards to version 2 only
    assert _public_forward(engine, live) == {"demo-web-2": 1}


def test_history_shows_every_state_the_release_went_through(engine, released_v2, monkeypatch):
    # A wide terminal, so that no row wraps whatever terminal runs the tests
    monkeypatch.setenv("COLUMNS", "250")
    sfn = engine.client("stepfunctions")
    arn = operations.execution_arn(engine.state_machine_arn, "web-2")
    visited = {e["stateEnteredEventDetails"]["name"] for e in operations.history(sfn, arn) if e["type"].endswith("StateEntered")}
    # When the history is read with choices included
    result = cutover("history", "web-2", "--all")
    # Then every state visited is a row, with what it changed
    assert result.code == 0
    for state in visited:
        assert state in result.out, state
    # And the approval names the person and the AWS identity that sent it (STS GetCallerIdentity)
    identity = engine.client("sts").get_caller_identity()["Arn"]
    approval_rows = [line for line in result.out.splitlines() if line.startswith("Wait for an operator")]
    assert any(f"approved by alice ({identity}): checked /health" in row for row in approval_rows), (approval_rows, released_v2[1])
    states = json.loads(cutover("history", "web-2", "--output", "json").out)["states"]
    (approval,) = [s["result"] for s in states if s["state"] == operations.APPROVAL_STATE]
    assert (approval["name"], approval["identity"]) == ("alice", identity)
    assert "web-1: scalable target min 2 max 6 parked at 0..0, scaling suspended; desired count 2 -> 0" in result.out
    assert "web-1 marked obsolete" in result.out


def test_status_of_a_succeeded_release(released_v2):
    result = cutover("status", "web-2", "--output", "json")
    assert result.code == 0
    status = json.loads(result.out)
    assert (status["status"], status["service"], status["version"]) == ("SUCCEEDED", "web", "2")


@pytest.fixture(scope="module")
def rejected_v3(engine, live, released_v2):
    """Version 3 started without a name (derived from the CI run), then rejected."""
    import os

    os.environ["GITHUB_RUN_ID"] = "4242"
    try:
        started = cutover("start", "--env", "demo", "--version", "3", "--image", "web:3", "--config", live["config_path"])
        again = cutover("start", "--env", "demo", "--version", "3", "--image", "web:3", "--config", live["config_path"])
    finally:
        del os.environ["GITHUB_RUN_ID"]
    name = "web-demo-3-4242"
    rejected = cutover("reject", name, "--reason", "the logo is upside down", "--by", "bob", "--wait-seconds", "60")
    operations.wait(engine.client("stepfunctions"), operations.execution_arn(engine.state_machine_arn, name), 60)
    return name, started, again, rejected


def test_a_retried_ci_job_attaches_to_its_release(rejected_v3):
    name, started, again, _ = rejected_v3
    assert started.code == 0 and f"Started {name}" in started.out
    assert again.code == 0 and f"Attached to {name}" in again.out


def test_reject_fails_the_release_and_tears_the_prepared_version_down(engine, live, rejected_v3):
    name, _, _, rejected = rejected_v3
    assert rejected.code == 0, rejected.err
    # Then the release failed with the rejection, saying who and why
    status = cutover("status", name)
    assert status.code == 1
    assert "FAILED" in status.out
    assert "ApprovalRejected" in status.out
    identity = engine.client("sts").get_caller_identity()["Arn"]
    assert f"Rejected by bob ({identity}): the logo is upside down" in status.out
    # And the prepared version 3 no longer runs, while version 2 still serves the public rule
    service = engine.client("ecs").describe_services(cluster="demo", services=["web-3"], include=["TAGS"])["services"]
    assert not service or service[0]["desiredCount"] == 0 or service[0]["status"] != "ACTIVE"
    assert _public_forward(engine, live) == {"demo-web-2": 1}
    # And the history ends with the teardown and the failure
    history = cutover("history", name)
    assert "Tear down the prepared version" in history.out
    assert "FAILED: ApprovalRejected" in history.out


def test_approve_when_nothing_waits_exits_3(rejected_v3):
    name = rejected_v3[0]
    result = cutover("approve", name)
    assert result.code == 3
    assert "not waiting for approval" in result.err


def test_unknown_execution_exits_3(engine):
    result = cutover("status", "no-such-release")
    assert result.code == 3
    assert "no execution 'no-such-release'" in result.err


def test_a_name_taken_by_someone_else_is_planned_as_taken_and_refused_with_exit_2(engine, live):
    # Given a target group named as version 9's would be, made by hand (no Cutover tags)
    engine.client("elbv2").create_target_group(Name="demo-web-9", Protocol="HTTP", Port=8080,
                                               VpcId=live["env"].values["VPC"], TargetType="ip")
    # When version 9 is planned, then started
    plan = cutover("plan", "--env", "demo", "--version", "9", "--image", "web:9", "--config", live["config_path"])
    start = cutover("start", "--env", "demo", "--version", "9", "--image", "web:9", "--config", live["config_path"],
                    "--name", "web-9")
    # Then the plan says the name is taken and by whom, instead of "reused", and exits 1: the release would not go
    assert plan.code == 1, plan.err
    assert "! target group demo-web-9 is taken by something not made by Cutover" in plan.out
    assert "TAKEN by another owner" in plan.out and "exists already" not in plan.out
    # And start refuses with exit 2, naming the owner, and starts nothing
    assert start.code == 2, start.out + start.err
    assert "target group demo-web-9 is taken by something not made by Cutover" in start.err
    assert cutover("status", "web-9").code == 3


def test_the_state_machine_is_found_by_its_name_as_well_as_its_arn(released_v2, monkeypatch):
    monkeypatch.delenv("CUTOVER_STATE_MACHINE_ARN", raising=False)
    by_name = cutover("status", "web-2", "--state-machine-arn", "cutover-release")
    assert by_name.code == 0 and "web-2: SUCCEEDED" in by_name.out
    monkeypatch.setenv("CUTOVER_STATE_MACHINE_ARN", "no-such-machine")
    missing = cutover("status", "web-2")
    assert missing.code == 3 and "no state machine named 'no-such-machine'" in missing.err


def test_a_retried_ci_job_whose_release_failed_starts_a_new_attempt(engine, live, rejected_v3):
    # Given the CI job's release of version 3 ended FAILED (rejected)
    import os

    name = rejected_v3[0]
    sfn = engine.client("stepfunctions")
    assert sfn.describe_execution(executionArn=operations.execution_arn(engine.state_machine_arn, name))["status"] == "FAILED"

    # When the same job is retried twice, with the same input
    os.environ["GITHUB_RUN_ID"] = "4242"
    try:
        retried = cutover("start", "--env", "demo", "--version", "3", "--image", "web:3", "--config", live["config_path"])
        again = cutover("start", "--env", "demo", "--version", "3", "--image", "web:3", "--config", live["config_path"])
    finally:
        del os.environ["GITHUB_RUN_ID"]

    # Then the first retry started a new attempt under the derived name, and the second follows it
    attempt = f"{name}-attempt-2"
    assert retried.code == 0, retried.err
    assert f"{name} ended without success with this same input: this is a new attempt, {attempt}" in retried.out
    assert f"Started {attempt}" in retried.out
    assert again.code == 0 and f"Attached to {attempt}" in again.out
    arn = operations.execution_arn(engine.state_machine_arn, attempt)
    if operations.wait_for_state(sfn, arn, operations.APPROVAL_STATE, 60):
        operations.reject(sfn, arn, reason="only retrying", by="ci", wait_seconds=30)
    assert operations.wait(sfn, arn, 120)["status"] == "FAILED"
