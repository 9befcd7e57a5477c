"""Commands that need no AWS at all: validate, diagram, schema, help, and execution names."""
from __future__ import annotations

import json

import pytest
import yaml

from cutover import DEFINITION
from cutover.operations import executions as operations
from cutover.definition import schema
from tests.cli.helpers import cutover

COMMANDS = ["start", "approve", "reject", "status", "history", "rollback", "validate", "plan", "adopt", "diagram", "schema", "demo"]


@pytest.fixture
def valid_config() -> dict:
    rule = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/0f0f0f0f0f0f0f0f/1a1a1a1a1a1a1a1a/{}"
    return {
        "service": "web",
        "cluster": "prod",
        "task_definition": {"family": "web", "cpu": "256", "memory": "512", "containers": [
            {"name": "web", "port_mappings": [{"container_port": 8080}]}]},
        "service_settings": {"desired_count": 2, "launch_type": "FARGATE",
                             "network": {"subnets": ["subnet-1"], "security_groups": ["sg-1"]}},
        "routes": [{"name": "www", "container": "web", "port": 8080, "vpc_id": "vpc-0abc",
                    "preparing_rule_arn": rule.format("2b2b2b2b2b2b2b2b"), "public_rule_arn": rule.format("3c3c3c3c3c3c3c3c")}],
    }


def test_validate_accepts_a_good_config(tmp_path, valid_config):
    # Given a complete deploy config
    path = tmp_path / "deploy.yaml"
    path.write_text(yaml.safe_dump(valid_config))
    # When it is validated
    result = cutover("validate", str(path))
    # Then it is accepted and summarized
    assert result.code == 0
    assert "valid" in result.out and "Service web" in result.out


def test_validate_names_each_broken_field_and_exits_2(tmp_path, valid_config):
    # Given a config with a misspelled key and a route on a port the container does not map
    valid_config["routes"][0]["prot"] = 8080
    valid_config["service_settings"]["desired_count"] = 0
    path = tmp_path / "deploy.yaml"
    path.write_text(yaml.safe_dump(valid_config))
    # When it is validated
    result = cutover("validate", str(path))
    # Then it is refused with exit 2 and every problem names its field
    assert result.code == 2
    assert "routes.0.prot: unknown key" in result.out
    assert "service_settings.desired_count" in result.out


def test_validate_checks_every_environment_of_the_file(tmp_path, valid_config, monkeypatch):
    # Given one file for two environments: production is given a desired count AWS would refuse,
    # and staging takes its VPC from SSM, which needs AWS to resolve
    valid_config["environments"] = {
        "staging": {"routes": [{**valid_config["routes"][0], "vpc_id": "${ssm:/staging/vpc}"}]},
        "production": {"service_settings": {"desired_count": "${env:PROD_COUNT}"}},
    }
    monkeypatch.setenv("PROD_COUNT", "0")
    path = tmp_path / "deploy.yaml"
    path.write_text(yaml.safe_dump(valid_config))
    # When it is validated offline
    result = cutover("validate", str(path))
    # Then production is refused on its own field, with ${env:} resolved, and staging passes but for
    # the field only AWS can resolve, which is named
    assert result.code == 2
    assert "(env production): not valid" in result.out and "service_settings.desired_count" in result.out
    assert "(env staging): valid." in result.out
    assert "not checked offline: routes.0.vpc_id: ${ssm:/staging/vpc}" in result.out
    # And one env can be checked alone
    assert cutover("validate", str(path), "--env", "staging").code == 0


def two_load_balancers(route: dict) -> None:
    route["public_rule_arn"] = route["public_rule_arn"].replace("/app/web/0f0f0f0f0f0f0f0f/", "/app/api/0e0e0e0e0e0e0e0e/")


@pytest.mark.parametrize("change, message", [
    (two_load_balancers, "routes.0: Value error, preparing_rule_arn is a rule of load balancer app/web/0f0f0f0f0f0f0f0f"),
    (lambda route: route.update(health_check={"interval_seconds": 10, "timeout_seconds": 10}),
     "routes.0.health_check: Value error, timeout_seconds (10) must be below interval_seconds (10)"),
], ids=["rules-on-two-load-balancers", "health-check-timeout"])
def test_validate_refuses_offline_what_aws_would_refuse_after_the_lock(tmp_path, valid_config, change, message):
    # Given a route that AWS would refuse at ModifyRule or CreateTargetGroup, after the lock
    change(valid_config["routes"][0])
    path = tmp_path / "deploy.yaml"
    path.write_text(yaml.safe_dump(valid_config))
    # When it is validated, with no AWS at hand
    result = cutover("validate", str(path))
    # Then it is refused with exit 2, naming the field
    assert result.code == 2
    assert message in result.out


def test_validate_reports_unparsable_yaml(tmp_path):
    path = tmp_path / "deploy.yaml"
    path.write_text("service: [unclosed\n")
    result = cutover("validate", str(path), "--output", "json")
    assert result.code == 2
    assert json.loads(result.out)["valid"] is False


def test_diagram_draws_every_state_of_the_definition():
    # Given the state machine definition
    with open(DEFINITION, encoding="utf-8") as f:
        states = json.load(f)["States"]
    # When the diagram is printed
    result = cutover("diagram")
    # Then it is a Mermaid flowchart naming every state
    assert result.code == 0
    assert result.out.startswith("flowchart TD")
    for name in states:
        assert name.replace('"', "#quot;") in result.out, name


def test_committed_schema_matches_the_config_model():
    # The schema editors use must be the one the release validates with.
    with open(schema.SCHEMA_FILE, encoding="utf-8") as f:
        assert f.read() == schema.text(), "run: python -m cutover schema > docs/config.schema.json"
    assert cutover("schema").out == schema.text()


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    result = cutover(command, "--help")
    assert result.code == 0
    assert "usage: cutover " + command in result.out


def test_execution_name_is_stable_for_a_retried_ci_job():
    # Given the same CI run, the name is the same; a new run gives a new name
    first = operations.execution_name("web-prod", "1.4.2", operations.ci_run_id({"GITHUB_RUN_ID": "9001"}))
    again = operations.execution_name("web-prod", "1.4.2", operations.ci_run_id({"GITHUB_RUN_ID": "9001"}))
    other = operations.execution_name("web-prod", "1.4.2", operations.ci_run_id({"CI_PIPELINE_ID": "77"}))
    assert first == again == "web-prod-1-4-2-9001"
    assert other != first


def test_execution_name_fits_step_functions_limits():
    name = operations.execution_name("a-very-long-service-name-" * 3, "2024.01.01+build.7/rc", "arn:aws:codebuild:x:y")
    assert len(name) <= 80
    assert all(c.isalnum() or c in "-_" for c in name)


def test_attempt_names_are_derived_deterministically_within_80_characters():
    # Given a first attempt's name, short and at the limit
    for name in ("web-prod-1-4-2-9001", "s" * 80):
        attempts = [operations.attempt_name(name, n) for n in range(1, 12)]
        # Then attempt 1 is the name itself, the others are distinct, the same every time, and fit
        assert attempts[0] == name
        assert len(set(attempts)) == len(attempts)
        assert attempts == [operations.attempt_name(name, n) for n in range(1, 12)]
        assert all(len(a) <= 80 and all(c.isalnum() or c in "-_" for c in a) for a in attempts)
    assert operations.attempt_name("web-prod-1-4-2-9001", 2) == "web-prod-1-4-2-9001-attempt-2"


def test_start_refuses_an_invalid_config_before_touching_aws(tmp_path, valid_config):
    del valid_config["routes"]
    path = tmp_path / "deploy.yaml"
    path.write_text(yaml.safe_dump(valid_config))
    result = cutover("start", "--env", "prod", "--version", "2", "--image", "web:2", "--config", str(path))
    assert result.code == 2
    assert "routes: required field is missing" in result.err


@pytest.mark.parametrize("name, rule", [
    ("release 2", "' '"),
    ("web/prod/2", "'/'"),
    ("web-2:rc", "':'"),
    ("x" * 81, "at most 80"),
])
def test_start_and_rollback_refuse_an_execution_name_step_functions_refuses(tmp_path, valid_config, name, rule):
    path = tmp_path / "deploy.yaml"
    path.write_text(yaml.safe_dump(valid_config))
    # No endpoint answers here: a name that got through would fail with exit 4, not 2.
    aws = ["--endpoint-url", "http://127.0.0.1:9", "--state-machine-arn",
           "arn:aws:states:us-east-1:123456789012:stateMachine:cutover-release"]
    start = cutover("start", "--env", "prod", "--version", "2", "--image", "web:2", "--config", str(path), "--name", name, *aws)
    rollback = cutover("rollback", "--env", "prod", "--service", "web", "--name", name, *aws)
    for result in (start, rollback):
        assert result.code == 2, result.err
        assert "--name" in result.err and rule in result.err


def test_a_config_longer_than_an_execution_is_refused_by_validate_plan_and_start(tmp_path, valid_config):
    # Given a config whose longest run is 27 days: a 7-day approval, 20 holds of 24 h, a 24 h bake and
    # 24 h health waits, each within its own limit
    valid_config["release"] = {
        "approval": {"timeout_seconds": 604800}, "bake_seconds": 86400, "health_timeout_seconds": 86400,
        "traffic_steps": [{"percent": 5 * (i + 1), "hold_seconds": 86400} for i in range(20)]}
    path = tmp_path / "deploy.yaml"
    path.write_text(yaml.safe_dump(valid_config))
    release = ("--env", "prod", "--version", "2", "--image", "web:2", "--config", str(path))

    # When it is validated, planned or started
    for result in (cutover("validate", str(path)), cutover("plan", *release), cutover("start", *release)):
        # Then each refuses it, before anything in AWS, naming both figures and what to shorten
        assert result.code == 2, result.out + result.err
        said = result.out + result.err
        assert "the longest run these settings allow is 2682000 s (31.0 days)" in said
        assert "longer than a release's execution may run, 691200 s (8.0 days)" in said
        assert "shorten the holds, bake_seconds, approval.timeout_seconds or health_timeout_seconds" in said
