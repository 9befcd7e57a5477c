"""`cutover sandbox up` as a separate process, and the commands against it through AWS_ENDPOINT_URL."""
from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading

import pytest
import yaml

from cutover import ROOT
from tests.cli.helpers import cutover_process, sandbox_env, sandbox_process

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with sandbox_process(tmp_path_factory.mktemp("sandbox")) as running:
        yield running


def _cli(sandbox, *argv: str) -> subprocess.CompletedProcess:
    return cutover_process(sandbox, *argv)


def test_sandbox_prints_its_endpoint_and_writes_the_demo_config(sandbox):
    assert f"http://127.0.0.1:{sandbox['port']}" in sandbox["banner"]
    assert "stateMachine:cutover-release" in sandbox["banner"]
    assert "service: web" in (sandbox["dir"] / "deploy.yaml").read_text()


def test_plan_against_the_sandbox_reads_the_live_version(sandbox):
    # Given the sandbox's demo environment with version 1 live
    # When a user plans version 2 with the config the sandbox wrote
    result = _cli(sandbox, "plan", "--env", "demo", "--version", "2", "--image", "web:2",
                  "--config", str(sandbox["dir"] / "deploy.yaml"))
    # Then the plan shows version 1 being replaced and retired
    assert result.returncode == 0, result.stderr
    assert "now demo-web-1 (v1) -> demo-web-2" in result.stdout
    assert "web-1 (v1): scalable target 2..6 parked at 0..0" in result.stdout


def test_endpoint_option_works_without_the_environment_variable(sandbox):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("CUTOVER_")}
    result = subprocess.run([sys.executable, "-m", "cutover", "status", "nothing-here",
                             "--endpoint-url", f"http://127.0.0.1:{sandbox['port']}"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    # The state machine is found by name and the missing execution is reported as not found
    assert result.returncode == 3, result.stderr
    assert "no execution 'nothing-here'" in result.stderr


def test_a_release_through_the_sandbox_with_an_approval_from_another_shell(sandbox):
    # Given start --wait running in one shell
    env = sandbox_env(sandbox)
    starter = subprocess.Popen(
        [sys.executable, "-m", "cutover", "start", "--env", "demo", "--version", "2", "--image", "web:2",
         "--config", str(sandbox["dir"] / "deploy.yaml"), "--name", "web-2", "--wait"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    # When an operator approves from another
    approval = _cli(sandbox, "approve", "web-2", "--wait-seconds", "60", "--by", "alice")
    out, err = starter.communicate(timeout=90)
    # Then the release succeeds and the first shell's command says so with exit 0
    assert approval.returncode == 0, approval.stderr
    assert starter.returncode == 0, out + err
    assert "web-2: SUCCEEDED" in out
    assert "approved by alice" in _cli(sandbox, "history", "web-2").stdout


CHECK_FILE = '''
def contract_tests(event, context):
    return {"passed": event["version"] == "2", "message": f"contract tests ran against {event['target_groups'][0]['name']}"}
'''


def test_sandbox_serves_a_python_function_as_a_lambda_check_and_http_checks_reach_127_0_0_1(tmp_path):
    # Given a sandbox serving a local Python function as the check function check-contract,
    (tmp_path / "checks.py").write_text(CHECK_FILE)
    (tmp_path / "sandbox").mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("Ok", (http.server.BaseHTTPRequestHandler,), {
        "do_GET": lambda self: (self.send_response(204), self.end_headers()), "log_message": lambda self, *a: None}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sandbox_process(tmp_path / "sandbox", "--function", f"check-contract={tmp_path / 'checks.py'}:contract_tests") as box:
            assert "function:check-contract" in box["banner"]
            # and a config with that Lambda check and an HTTP check of a server on 127.0.0.1
            config = yaml.safe_load((box["dir"] / "deploy.yaml").read_text())
            config["release"]["approval"] = {"mode": "auto"}
            config["release"]["verify"] = [
                {"name": "contract", "lambda": {"function_arn": "arn:aws:lambda:us-east-1:123456789012:function:check-contract"}},
                {"name": "ping", "http": {"url": f"http://127.0.0.1:{server.server_address[1]}/ping", "expect_status": 204},
                 "when": ["prepared", "hold"]},
            ]
            path = tmp_path / "deploy.yaml"
            path.write_text(yaml.safe_dump(config))

            # When version 2 is released through the sandbox
            started = cutover_process(box, "start", "--env", "demo", "--version", "2", "--image", "web:2",
                                      "--config", str(path), "--name", "web-2", "--wait", timeout=150)

            # Then it succeeds, and history and status show what each check found
            assert started.returncode == 0, started.stdout + started.stderr
            # (the table wraps its last column to the terminal's width)
            history = " ".join(cutover_process(box, "history", "web-2").stdout.split())
            assert "contract passed: contract tests ran against demo-web-2" in history
            assert "ping passed" in history
            status = cutover_process(box, "status", "web-2").stdout
            assert "check     contract passed: contract tests ran against demo-web-2 (prepared)" in status
            assert "ping passed" in status and "(hold)" in status
    finally:
        server.shutdown()
        server.server_close()


def test_sandbox_refuses_a_function_it_cannot_load(tmp_path):
    result = subprocess.run([sys.executable, "-m", "cutover", "sandbox", "up", "--function", "check-x=missing.py:f"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "--function 'check-x=missing.py:f': no file missing.py" in result.stderr
