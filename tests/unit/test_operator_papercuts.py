"""What a newcomer trips on, said plainly: rules in words, the nearest key for a typo, secrets refused by
LoadRelease's own checker, the sandbox named when its endpoint is down, the state machine from the
environment for iam-policy."""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import EndpointConnectionError

from cutover import exits
from cutover.aws.errors import translate
from cutover_steps.config import check as config_check
from tests.cli.helpers import cutover


@pytest.fixture
def config() -> dict:
    rule = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/0f0f0f0f0f0f0f0f/1a1a1a1a1a1a1a1a/{}"
    return {
        "service": "web", "cluster": "prod",
        "task_definition": {"family": "web", "cpu": "256", "memory": "512", "containers": [
            {"name": "web", "port_mappings": [{"container_port": 8080}]}]},
        "service_settings": {"desired_count": 2, "launch_type": "FARGATE",
                             "network": {"subnets": ["subnet-1"], "security_groups": ["sg-1"]}},
        "routes": [{"name": "www", "container": "web", "port": 8080, "vpc_id": "vpc-0abc",
                    "preparing_rule_arn": rule.format("2b2b2b2b2b2b2b2b"), "public_rule_arn": rule.format("3c3c3c3c3c3c3c3c")}],
    }


def _problems(start: dict) -> str:
    with pytest.raises(config_check.Invalid) as refused:
        config_check.start_input(start)
    return str(refused.value)


def test_a_version_with_a_space_is_refused_with_the_rule_in_words(config):
    problems = _problems({"env": "demo", "version": "1 2", "image": "web:1", "config": config})
    assert "version: must be 1-64 letters, digits, dots, hyphens and underscores" in problems and "no spaces" in problems
    assert "[A-Za-z0-9" not in problems


def test_a_misspelt_key_gets_the_nearest_known_one_and_a_misspelt_required_key_is_named_as_such(config):
    config["task_definition"]["containers"][0]["enviroment"] = {"A": "b"}
    config["servce"] = config.pop("service")
    problems = _problems({"env": "demo", "version": "1", "image": "web:1", "config": config})
    assert "config.task_definition.containers.0.enviroment: unknown key" in problems and "did you mean environment?" in problems
    assert "config.servce: unknown key" in problems and "did you mean service (a required key, missing here)?" in problems
    assert "config.service: required field is missing" not in problems


def test_load_release_s_own_checker_refuses_a_plain_secret_without_showing_it(config):
    config["task_definition"]["containers"][0]["environment"] = {"STRIPE_API_KEY": "sk_live_123"}
    problems = _problems({"env": "demo", "version": "1", "image": "web:1", "config": config})
    assert "config.task_definition.containers.0.environment: STRIPE_API_KEY looks like a secret" in problems
    assert "sk_live_123" not in problems
    # And a deploy-time variable no receiving container allows
    del config["task_definition"]["containers"][0]["environment"]
    problems = _problems({"env": "demo", "version": "1", "image": "web:1", "config": config,
                          "environment": {"DB_PASSWORD": "hunter2"}})
    assert "DB_PASSWORD looks like a secret" in problems and "hunter2" not in problems
    config["task_definition"]["containers"][0]["allow_plaintext"] = ["DB_PASSWORD"]
    assert config_check.start_input({"env": "demo", "version": "1", "image": "web:1", "config": config,
                                     "environment": {"DB_PASSWORD": "not-a-secret"}})["environment"]


def test_an_endpoint_on_this_machine_that_is_down_suggests_the_sandbox():
    failure = exits.of(translate(EndpointConnectionError(endpoint_url="http://127.0.0.1:4566/")))
    assert failure.exit == exits.AWS_ERROR and "is the sandbox running?" in str(failure) and "cutover sandbox up" in str(failure)


def test_iam_policy_reads_the_state_machine_from_the_environment(monkeypatch):
    machine = "arn:aws:states:eu-west-1:111122223333:stateMachine:cutover-release"
    monkeypatch.setenv("CUTOVER_STATE_MACHINE_ARN", machine)
    policy = json.loads(cutover("iam-policy", "ci").out)
    resources = {r for s in policy["Statement"] for r in s["Resource"]}
    assert machine in resources and "arn:aws:states:eu-west-1:111122223333:execution:cutover-release:*" in resources


def test_make_demo_installs_the_local_extra_at_the_project_s_pins_and_nothing_else():
    import pathlib
    import re
    import tomllib

    root = pathlib.Path(__file__).resolve().parents[2]

    def pins(name: str) -> dict[str, str]:
        text = (root / name).read_text()
        return {m.group(1).lower(): m.group(2) for m in re.finditer(r"^([A-Za-z0-9_.\-\[\]]+)==(\S+)", text, re.M)}

    demo, pinned = pins("requirements-demo.txt"), {**pins("requirements.txt"), **pins("requirements-dev.txt")}
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    needed = {re.split(r"[<>=!~ ]", d)[0].lower() for d in project["dependencies"] + project["optional-dependencies"]["local"]}
    # Every package the command line and the local engine need, at the pin the project tests with; no CDK, no test tools
    assert set(demo) == needed | {"botocore"}  # pinned beside boto3, as requirements.txt pins it
    assert all(pinned[name] == version for name, version in demo.items())
