"""`cutover sandbox up` as a separate process, and the commands against it through AWS_ENDPOINT_URL."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from cutover import ROOT

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    directory = tmp_path_factory.mktemp("sandbox")
    port = _free_port()
    # Its output goes to a file: a pipe nobody reads after the banner would fill up and block it.
    log_path = directory / "sandbox.log"
    log = open(log_path, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "cutover", "sandbox", "up", "--port", str(port), "--dir", str(directory)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline and process.poll() is None:
        if "Ctrl-C stops the sandbox" in log_path.read_text():
            break
        time.sleep(0.2)
    banner = log_path.read_text()
    assert process.poll() is None, banner
    yield {"port": port, "dir": directory, "banner": banner, "process": process}
    process.send_signal(signal.SIGTERM)
    try:
        assert process.wait(150) == 0, log_path.read_text()[-3000:]
    finally:
        log.close()


def _cli(sandbox, *argv: str) -> subprocess.CompletedProcess:
    # Only what the sandbox's env file says: no credentials or region of the test's own.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("CUTOVER_")}
    env.update(dict(line.removeprefix("export ").strip().split("=", 1)
                    for line in (sandbox["dir"] / "env").read_text().splitlines()))
    return subprocess.run([sys.executable, "-m", "cutover", *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)


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
    assert "web-1 (v1): scalable target 2..6 deregistered" in result.stdout


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
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("CUTOVER_")}
    env.update(dict(line.removeprefix("export ").strip().split("=", 1)
                    for line in (sandbox["dir"] / "env").read_text().splitlines()))
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
