"""What a person running production releases needs from the command line, against the local engine:
secrets kept out of plain values, a rollback checked before it starts, the approval wait shown, and
the release ledger."""
from __future__ import annotations

import json

import pytest
import yaml

from cutover.local import environment
from tests.cli.helpers import cutover, demo_service

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def engine(worker_engine):
    with worker_engine.new_account() as running:
        yield running


@pytest.fixture(scope="module")
def live(engine, tmp_path_factory):
    """Version 1 serves the public rule, as an earlier release left it."""
    demo = demo_service(engine, tmp_path_factory.mktemp("service"))
    environment.bootstrap_live_version(engine.client, demo["config"])
    return demo


def _executions(engine) -> list[str]:
    sfn = engine.client("stepfunctions")
    return [e["name"] for e in sfn.list_executions(stateMachineArn=engine.state_machine_arn)["executions"]]


def _with_environment(live, tmp_path, environment_values: dict, **container) -> str:
    config = json.loads(json.dumps(live["config"]))
    config["task_definition"]["containers"][0].update(environment=environment_values, **container)
    path = tmp_path / "deploy.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


# -- secrets stay out of plain values ---------------------------------------------------------------

def test_a_plain_password_in_the_config_is_refused_before_anything_starts(engine, live, tmp_path):
    path = _with_environment(live, tmp_path, {"DB_PASSWORD": "hunter2", "LOG_LEVEL": "info"})
    before = _executions(engine)
    result = cutover("start", "--env", "demo", "--version", "7", "--image", "web:7", "--config", path)
    # Then it is refused with the field, the name and the fix, the value never shown, nothing started
    assert result.code == 2
    assert "task_definition.containers.0.environment: DB_PASSWORD looks like a secret" in result.err
    assert "secrets" in result.err and "allow_plaintext: [DB_PASSWORD]" in result.err
    assert "hunter2" not in result.err + result.out
    assert _executions(engine) == before


def test_a_plain_token_given_with_env_var_is_refused_before_anything_starts(engine, live):
    before = _executions(engine)
    result = cutover("start", "--env", "demo", "--version", "7", "--image", "web:7", "--config", live["config_path"],
                     "--env-var", "GITHUB_TOKEN=ghp_s3cr3t", "--output", "json")
    assert result.code == 2
    error = json.loads(result.out.strip().splitlines()[-1])["error"]
    assert "GITHUB_TOKEN looks like a secret" in error["message"] and "allow_plaintext" in error["message"]
    assert "ghp_s3cr3t" not in result.err + result.out
    assert _executions(engine) == before


def test_a_name_allowed_as_plain_text_passes_and_plan_and_render_hide_every_value(engine, live, tmp_path):
    path = _with_environment(live, tmp_path, {"TOKEN_ENDPOINT": "https://auth.example/token", "LOG_LEVEL": "debug-7f3a"},
                             allow_plaintext=["TOKEN_ENDPOINT", "FEATURE_API_KEY"])
    # When the config is planned and rendered (with a deploy-time value the config allows)
    plan = cutover("plan", "--env", "demo", "--version", "7", "--image", "web:7", "--config", path,
                   "--env-var", "FEATURE_API_KEY=public-k3y", "--output", "json")
    render = cutover("render", "--env", "demo", "--config", path)
    # Then both pass, name the variables and show none of their values
    assert plan.code == 0, plan.err
    assert render.code == 0, render.err
    for shown in (plan.out, render.out):
        assert "TOKEN_ENDPOINT" in shown and "(hidden)" in shown
        assert "https://auth.example/token" not in shown and "debug-7f3a" not in shown
    assert "public-k3y" not in plan.out and "FEATURE_API_KEY" in plan.out
