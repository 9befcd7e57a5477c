"""The commands that stream (`start --wait`, `demo`, `sandbox up`) with `--output json`: one JSON
document per event (JSON Lines) that says what the text says, and the exit code of each way it ends."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from cutover import ROOT, exits
from cutover.operations import executions as operations
from tests.cli.helpers import cutover, free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def live(live):
    """Where the user keeps the config of the demo service, version 1 live."""
    return live["config_path"]


def _lines(result) -> list[dict]:
    """stdout as JSON Lines: every line one document."""
    assert result.out.endswith("\n"), result.out
    return [json.loads(line) for line in result.out.splitlines()]


def _answer_when_asked(engine, name: str, *argv: str) -> threading.Thread:
    """An operator who answers the approval from another terminal once the release waits for it."""
    def operator() -> None:
        arn = operations.execution_arn(engine.state_machine_arn, name)
        sfn = engine.client("stepfunctions")
        for _ in range(600):
            try:
                # (waiting once its request is sent: the approval's task token is out)
                if operations.pending_approval(operations.history(sfn, arn))[0]:
                    break
            except sfn.exceptions.ExecutionDoesNotExist:
                pass
            time.sleep(0.1)
        # A person answers seconds after the request, not within one poll of `--wait` (0.3 s): answered
        # faster, the waiting terminal could miss the wait it is meant to show.
        time.sleep(2)
        cutover(*argv, name, "--wait-seconds", "60", "--by", "alice")

    thread = threading.Thread(target=operator)
    thread.start()
    return thread


def _start_wait(live: str, version: str, *options: str):
    return cutover("start", "--env", "demo", "--version", version, "--image", f"web:{version}", "--config", live,
                   "--name", f"web-{version}", "--wait", "--poll", "0.3", "--output", "json", *options)


def test_start_wait_as_json_lines_says_what_the_history_says(engine, live, monkeypatch):
    # Given a release of version 2 that an operator approves from another terminal
    operator = _answer_when_asked(engine, "web-2", "approve")
    # When it is started with --wait --output json
    result = _start_wait(live, "2")
    operator.join(90)
    # Then every line is a JSON document: it started, waited for approval, showed its progress and ended
    events = _lines(result)
    assert result.code == exits.OK.code, result.out + result.err
    assert (events[0]["event"], events[0]["name"], events[0]["attached"]) == ("started", "web-2", False)
    (asked,) = [e for e in events if e["event"] == "waiting_for_approval"]
    assert asked["approve"] == "cutover approve web-2"
    # (a status line at least while it waited for the operator: the health and hold loops may be too quick to catch)
    assert any(e["event"] == "progress" and e["state"] == operations.APPROVAL_STATE
               and "waiting for an operator since" in e["progress"] for e in events)
    assert (events[-1]["event"], events[-1]["status"], events[-1]["failure"]) == ("ended", "SUCCEEDED", None)
    assert result.err == ""
    # And each state it streamed is a row of the history's text, saying the same of what the step did
    monkeypatch.setenv("COLUMNS", "250")
    rows = cutover("history", "web-2").out.splitlines()
    states = [e for e in events if e["event"] == "state"]
    assert {"Create the target groups", "Shift traffic to the new version"} <= {e["state"] for e in states}
    for event in states:
        assert any(row.startswith(event["state"]) and event["description"] in row for row in rows), event
    assert any(e["description"].startswith("approved by alice") for e in states)


def test_start_wait_ends_with_the_exit_code_of_how_the_release_ended(engine, live):
    # A rejected release: exit 1, the failure in the last line
    operator = _answer_when_asked(engine, "web-3", "reject", "--reason", "the logo is upside down")
    rejected = _start_wait(live, "3")
    operator.join(90)
    assert rejected.code == exits.FAILED.code == 1
    last = _lines(rejected)[-1]
    assert (last["event"], last["status"], last["failure"]["error"]) == ("ended", "FAILED", "ApprovalRejected")

    # A release still running when --timeout runs out: exit 5, the last line says RUNNING
    waiting = _start_wait(live, "4", "--timeout", "2")
    assert waiting.code == exits.STILL_RUNNING.code == 5
    assert (_lines(waiting)[-1]["event"], _lines(waiting)[-1]["status"]) == ("ended", "RUNNING")
    sfn, arn = engine.client("stepfunctions"), operations.execution_arn(engine.state_machine_arn, "web-4")
    assert operations.wait_for_state(sfn, arn, operations.APPROVAL_STATE, 90)
    operations.reject(sfn, arn, reason="only waiting", by="ci", wait_seconds=30)
    assert operations.wait(sfn, arn, 120)["status"] == "FAILED"


def test_start_wait_interrupted_ends_its_stream_with_the_interruption_and_the_release_goes_on(engine, live, monkeypatch):
    from cutover.output import progress

    # Given an operator who presses Ctrl-C while start --wait follows the release
    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(progress.Follower, "step", interrupted)
    result = _start_wait(live, "6")
    # Then the command exits 130 and its JSON Lines end with the interruption, after the start
    assert result.code == exits.INTERRUPTED.code == 130
    started, last = _lines(result)
    assert (started["event"], last["error"]["code"]) == ("started", "interrupted")
    # And the release itself goes on: it waits for its approval
    sfn, arn = engine.client("stepfunctions"), operations.execution_arn(engine.state_machine_arn, "web-6")
    assert operations.wait_for_state(sfn, arn, operations.APPROVAL_STATE, 90)
    operations.reject(sfn, arn, reason="only interrupted", by="ci", wait_seconds=30)
    assert operations.wait(sfn, arn, 120)["status"] == "FAILED"


@pytest.mark.parametrize("options, exit_code, code", [
    (("--version", "bad version!"), exits.USAGE, "invalid_input"),
    (("--state-machine-arn", "no-such-machine"), exits.NOT_FOUND, "not_found"),
    (("--endpoint-url", "http://127.0.0.1:9", "--state-machine-arn",
      "arn:aws:states:us-east-1:123456789012:stateMachine:cutover-release"), exits.AWS_ERROR, "aws_error"),
])
def test_start_wait_that_cannot_start_gives_one_line_naming_the_failure(engine, live, options, exit_code, code):
    given = {"--version": "5", **dict(zip(options[::2], options[1::2]))}
    result = cutover("start", "--env", "demo", "--image", "web:5", "--config", live, "--wait", "--output", "json",
                     *(item for pair in given.items() for item in pair))
    # Then it exits with the table's code, and stdout is one line: the error, as JSON
    assert result.code == exit_code.code, result.err
    (error,) = _lines(result)
    assert (error["error"]["code"], error["error"]["exit_code"]) == (code, exit_code.code)


def test_sandbox_up_on_a_port_in_use_is_a_usage_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cutover("sandbox", "up", "--port", str(port), "--dir", str(tmp_path), "--output", "json")
    assert result.code == exits.USAGE.code
    (error,) = _lines(result)
    assert error["error"]["code"] == "invalid_input" and f"--port: {port}" in error["error"]["message"]


def test_sandbox_up_streams_ready_then_stopped(tmp_path):
    # Given the sandbox started for a script
    port = free_port()
    log = tmp_path / "out.jsonl"
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "cutover", "sandbox", "up", "--port", str(port),
                                    "--dir", str(tmp_path), "--output", "json"],
                                   cwd=ROOT, stdout=out, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 90
        while time.time() < deadline and process.poll() is None and not log.read_text().endswith("\n"):
            time.sleep(0.2)
        # Then its first line says where it serves, and the env file it wrote says the same
        (ready,) = [json.loads(line) for line in log.read_text().splitlines()]
        assert (ready["event"], ready["endpoint"]) == ("ready", f"http://127.0.0.1:{port}")
        assert f"export AWS_ENDPOINT_URL={ready['endpoint']}" in open(ready["env"]).read()
        assert "stateMachine:cutover-release" in ready["state_machine_arn"]
        # And once stopped it says so and exits 0
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=150)
    assert process.returncode == exits.OK.code, err
    assert [json.loads(line)["event"] for line in log.read_text().splitlines()] == ["ready", "stopping", "stopped"]


def test_the_demo_as_json_lines_tells_both_releases_and_the_judged_one_and_exits_0():
    # When the demo runs for a script
    result = subprocess.run([sys.executable, "-m", "cutover", "demo", "--output", "json"], cwd=ROOT,
                            env={k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CUTOVER_"))},
                            capture_output=True, text=True, timeout=300, check=False)
    # Then every line is an event, and the last one sums it up with the exit code the command gives
    events = [json.loads(line) for line in result.stdout.splitlines()]
    summary = events[-1]
    assert (summary["event"], summary["succeeded"], summary["exit_code"]) == ("summary", True, result.returncode)
    assert result.returncode == exits.OK.code, result.stderr
    # And nothing of the emulator's own logs (its interpreter's dumps of the states' errors) reaches the user
    assert "Exception=" not in result.stderr, result.stderr
    assert summary["releases"] == {"2": "SUCCEEDED", "3": "SUCCEEDED", "4": "FAILED"}
    assert summary["judged_and_rolled_back"] is True
    # And each release says what it did: the states it went through, the public rule over time, what it changed
    ended = {e["version"]: e for e in events if e["event"] == "release_ended"}
    assert [p["percent"] for p in ended["2"]["public_rule"]] == [
        {"demo-web-1": 100}, {"demo-web-2": 50, "demo-web-1": 50}, {"demo-web-2": 100}]
    assert ended["2"]["created"][0] == "target group demo-web-2"
    assert ended["3"]["deleted"] == ["web-1 (v1) and target groups demo-web-1"]
    assert ended["3"]["marked_obsolete"] == ["web-2"]
    states = [e for e in events if e["event"] == "state" and e["execution"] == "demo-web-3"]
    assert any(e["state"] == operations.APPROVAL_STATE and e["description"].startswith("approved by demo") for e in states)
    # And the third version, answering badly, was judged by its own metrics and rolled back, with its scorecard
    assert ended["4"]["failure"]["error"] == "AnalysisFailed"
    errors = next(m for m in ended["4"]["analysis"]["metrics"] if m["name"] == "errors")
    assert errors["verdict"] == "fail" and errors["new"] > 0.2
    assert ended["4"]["public_rule"][-1]["percent"] == {"demo-web-3": 100}
