"""What a person running production releases needs from the command line, against the local engine:
secrets kept out of plain values, a rollback checked before it starts, the approval wait shown, and
the release ledger."""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

import pytest
import yaml

from tests.cli.helpers import cutover

pytestmark = pytest.mark.e2e


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


# -- a rollback is checked before it starts -----------------------------------------------------------

def test_a_rollback_with_nothing_to_bring_back_exits_3_and_starts_nothing(engine, live):
    # Given v1 live and no release finished yet
    before = _executions(engine)
    result = cutover("rollback", "--env", "demo", "--service", "web")
    # Then it says there is nothing kept, and why, and no execution starts
    assert result.code == 3, result.err
    assert "keeps no retired version to roll back to" in result.err and "no execution was started" in result.err
    assert _executions(engine) == before


# -- the approval wait, visible, and who started and approved ---------------------------------------

def _wait_for_approval(engine, name: str) -> None:
    from cutover.operations import executions as operations

    arn = operations.execution_arn(engine.state_machine_arn, name)
    assert operations.wait_for_state(engine.client("stepfunctions"), arn, operations.APPROVAL_STATE, timeout=120)
    for _ in range(100):
        if operations.pending_task_token(engine.client("stepfunctions"), arn):
            return
        time.sleep(0.1)


@pytest.fixture(scope="module")
def released_v2(engine, live):
    """v2 started by carol with a deploy-time variable, seen while it waits, then approved by alice."""
    started = cutover("start", "--env", "demo", "--version", "2", "--image", "web:2", "--config", live["config_path"],
                      "--name", "web-2", "--env-var", "RELEASE_NOTE=n0te-2")
    assert started.code == 0, started.err
    _wait_for_approval(engine, "web-2")
    waiting = cutover("status", "web-2"), cutover("status", "web-2", "--output", "json")
    approved = cutover("approve", "web-2", "--by", "alice")
    assert approved.code == 0, approved.err
    from cutover.operations import executions as operations

    operations.wait(engine.client("stepfunctions"), operations.execution_arn(engine.state_machine_arn, "web-2"), timeout=120)
    return waiting


def test_status_during_the_approval_wait_says_since_until_where_to_try_and_how_to_answer(released_v2):
    text, as_json = released_v2
    assert text.code == 0, text.err
    wait = json.loads(as_json.out)["approval_wait"]
    since = datetime.fromisoformat(wait["since"])
    until = datetime.fromisoformat(wait["until"])
    # Then the deadline is the approval timeout of the config (3600 s) after the wait began
    assert until - since == timedelta(seconds=3600)
    assert wait["preparing_urls"] == [{"route": "www", "url": "http://preparing.demo.local/"}]
    assert f"since {since:%H:%M} UTC" in text.out and f"until {until:%Y-%m-%d %H:%M} UTC" in text.out
    assert "try it    http://preparing.demo.local/" in text.out
    assert "cutover approve web-2" in text.out and "cutover reject web-2" in text.out
    # And who started it, as AWS knows the caller
    assert json.loads(as_json.out)["started_by"]["identity"].startswith("arn:aws:")


def test_history_hides_the_deploy_time_values(released_v2):
    shown = cutover("history", "web-2", "--output", "json")
    assert shown.code == 0
    assert "RELEASE_NOTE" in shown.out and "n0te-2" not in shown.out


def test_rollback_to_a_version_nobody_kept_exits_3_listing_what_is_kept(engine, released_v2):
    before = _executions(engine)
    result = cutover("rollback", "--env", "demo", "--service", "web", "--to", "9")
    assert result.code == 3, result.err
    assert "keeps no version '9'" in result.err and "it keeps 1" in result.err
    assert _executions(engine) == before


def test_a_rollback_waits_for_approval_only_when_asked_to(engine, released_v2):
    from cutover.operations import executions as operations

    # When a rollback is started with --require-approval
    started = cutover("rollback", "--env", "demo", "--service", "web", "--require-approval", "--name", "web-back-1")
    assert started.code == 0, started.err
    # Then it waits for an operator before traffic moves back, and goes on once approved
    _wait_for_approval(engine, "web-back-1")
    assert json.loads(cutover("status", "web-back-1", "--output", "json").out)["waiting_for_approval"] is True
    assert cutover("approve", "web-back-1", "--by", "bob").code == 0
    ended = operations.wait(engine.client("stepfunctions"),
                            operations.execution_arn(engine.state_machine_arn, "web-back-1"), timeout=120)
    assert ended["status"] == "SUCCEEDED"


# -- the release ledger ------------------------------------------------------------------------------

def test_the_ledger_lists_each_release_and_rollback_with_who_started_and_approved_it(engine, released_v2):
    # Given v2 released (approved by alice) and then rolled back (approved by bob), both ended
    engine.wait_for_status_changes()
    result = cutover("releases", "--service", "web", "--env", "demo", "--output", "json")
    assert result.code == 0, result.err
    found = {e["execution"]: e for e in json.loads(result.out)["releases"]}
    release, rollback = found["web-2"], found["web-back-1"]
    # Then each says what, who started and approved it, when, how long and how it ended
    assert (release["action"], release["version"], release["outcome"]) == ("release", "2", "succeeded")
    assert release["approved_by"]["name"] == "alice" and release["approved_by"]["identity"].startswith("arn:aws:")
    assert release["started_by"]["identity"].startswith("arn:aws:")
    assert release["duration_seconds"] > 0 and release["ended"] > release["started"]
    assert 0 < release["seconds_to_all_traffic"] <= release["duration_seconds"]
    assert (rollback["action"], rollback["version"], rollback["outcome"]) == ("rollback", "1", "succeeded")
    assert rollback["approved_by"]["name"] == "bob"
    # And the text names them too
    text = cutover("releases", "--service", "web", "--env", "demo")
    assert "alice" in text.out and "bob" in text.out and "succeeded" in text.out


def test_the_ledger_stats_count_a_rolled_back_release_as_a_change_failure(engine, released_v2):
    engine.wait_for_status_changes()
    result = cutover("releases", "--service", "web", "--env", "demo", "--stats", "--output", "json")
    assert result.code == 0, result.err
    stats = json.loads(result.out)["stats"]
    assert stats["succeeded"] == 1 and stats["rollbacks"] == 1
    assert stats["change_failure_rate"] == 1.0
    assert [f["execution"] for f in stats["change_failures"]] == ["web-2"]
    assert stats["time_to_restore_seconds"]["median"] > 0
    assert "change failure rate       100 %" in cutover("releases", "--service", "web", "--env", "demo", "--stats").out


def test_a_stopped_release_is_in_the_ledger_as_stopped(engine, live, released_v2):
    from cutover.operations import executions as operations

    started = cutover("start", "--env", "demo", "--version", "3", "--image", "web:3", "--config", live["config_path"],
                      "--name", "web-3")
    assert started.code == 0, started.err
    _wait_for_approval(engine, "web-3")
    sfn = engine.client("stepfunctions")
    arn = operations.execution_arn(engine.state_machine_arn, "web-3")
    stopped = cutover("stop", "web-3", "--reason", "wrong image tag", "--by", "alice")
    assert stopped.code == 0, stopped.err
    operations.wait(sfn, arn, timeout=60)
    engine.wait_for_status_changes()
    found = {e["execution"]: e for e in json.loads(cutover("releases", "--service", "web", "--output", "json").out)["releases"]}
    # (who stopped it and why, as `cutover stop` recorded them in the stop's cause)
    assert found["web-3"]["outcome"] == "stopped" and found["web-3"]["status"] == "ABORTED"
    assert found["web-3"]["why"].startswith("stopped by alice (arn:aws:") and found["web-3"]["why"].endswith("): wrong image tag")
    assert found["web-3"]["approved_by"] is None and found["web-3"]["started_by"]["identity"].startswith("arn:aws:")
    # And approving the stopped release says it waits no more, with the "not waiting" exit code
    late = cutover("approve", "web-3")
    assert late.code == 3 and "not waiting for approval" in late.err and "TaskTimedOut" not in late.err


# -- papercuts --------------------------------------------------------------------------------------

def test_plan_exits_1_when_it_predicts_the_release_would_fail(live, tmp_path):
    config = dict(live["config"], cluster="no-such-cluster")
    path = tmp_path / "deploy.yaml"
    path.write_text(yaml.safe_dump(config))
    result = cutover("plan", "--env", "demo", "--version", "5", "--image", "web:5", "--config", str(path))
    assert result.code == 1
    assert "cluster no-such-cluster does not exist" in result.out
