"""Rehearsing a broken release: `cutover sandbox up --fail STEP:MODE`, driven through the command line."""
from __future__ import annotations

import json

import pytest

from tests.cli.helpers import cutover, cutover_process, sandbox_process

pytestmark = pytest.mark.e2e


def test_a_bad_fail_option_is_refused_before_the_sandbox_starts():
    for spec, said in (("RecordRelease", "write STEP:MODE"), ("Nothing:error", "STEP one of LoadRelease"),
                       ("RecordRelease:explode", "MODE is one of error, throttle, crash")):
        result = cutover("sandbox", "up", "--port", "1", "--fail", spec)
        assert result.code == 2, result.out + result.err
        assert said in result.err


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    with sandbox_process(tmp_path_factory.mktemp("rehearsal"), "--fail", "RecordRelease:error",
                         "--fail", "NotifySucceeded:error") as running:
        yield running


def test_a_step_after_the_switch_that_always_fails_leaves_a_succeeded_release_with_warnings(rehearsal):
    # Given a sandbox where recording the release and the success notification always fail
    assert "failing        RecordRelease: fails every time with an unexpected error" in rehearsal["banner"]
    config = str(rehearsal["dir"] / "deploy.yaml")

    # When version 2 is released there, approved automatically
    text = (rehearsal["dir"] / "deploy.yaml").read_text().replace("mode: manual", "mode: auto")
    (rehearsal["dir"] / "deploy.yaml").write_text(text)
    started = cutover_process(rehearsal, "start", "--env", "demo", "--version", "2", "--image", "web:2",
                              "--config", config, "--name", "web-2", "--wait", "--poll", "0.5", timeout=120)

    # Then it succeeded (traffic stays on version 2), and every view says what is left to do
    assert started.returncode == 0, started.stdout + started.stderr
    assert "web-2: SUCCEEDED with warnings" in started.stdout
    status = cutover_process(rehearsal, "status", "web-2")
    assert status.returncode == 0
    assert "warning   Record the release failed (StepFailed: RecordRelease fails every time" in status.stdout
    assert "warning   Notify that the release succeeded failed (StepFailed" in status.stdout
    history = cutover_process(rehearsal, "history", "web-2")
    assert "SUCCEEDED with warnings:" in history.stdout
    assert "  - Record the release failed (StepFailed" in history.stdout
    as_json = json.loads(cutover_process(rehearsal, "history", "web-2", "--output", "json").stdout)
    assert [w["step"] for w in as_json["warnings"]] == ["Record the release", "Notify that the release succeeded"]
    assert as_json["warnings"][0]["left_to_do"] == "the release record does not say yet which version serves"
    status_json = json.loads(cutover_process(rehearsal, "status", "web-2", "--output", "json").stdout)
    assert status_json["status"] == "SUCCEEDED" and len(status_json["warnings"]) == 2
