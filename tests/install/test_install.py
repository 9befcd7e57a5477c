"""The wheel, installed as a user installs it: into fresh virtualenvs outside the repository.

A plain install runs every command that talks to AWS (here: the sandbox, started from a second
virtualenv with the `local` extra), and the offline ones, with the runtime dependencies only.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from cutover import DEFINITION, ROOT

pytestmark = pytest.mark.install

# Downloads are kept between runs beside the development virtualenv (outside git).
PIP_CACHE = Path(ROOT, ".venv", "cache", "pip")


def _clean_env(**extra: str) -> dict[str, str]:
    """No credentials, region or Cutover settings of the test's own, and nothing from the checkout on the path."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "CUTOVER_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(PIP_CACHE_DIR=str(PIP_CACHE), PIP_DISABLE_PIP_VERSION_CHECK="1", **extra)
    return env


def _run(command: list[str], cwd: Path, timeout: float = 900, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=_clean_env(**env), capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), ROOT], cwd=out)
    assert built.returncode == 0, built.stderr
    (path,) = out.glob("cutover-*.whl")
    return path


def _venv(wheel: Path, where: Path, extra: str = "") -> Path:
    # Without pip of its own: the development pip installs into it (--python), which saves a minute.
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(where)], cwd=where.parent)
    assert made.returncode == 0, made.stderr
    # --no-compile: pip would compile every module of every package it installs (botocore, moto, the
    # CDK's dependencies…); the commands run here compile only what they import.
    installed = _run([sys.executable, "-m", "pip", "--python", str(where / "bin" / "python"), "install", "--quiet",
                      "--no-compile", f"{wheel}{extra}"], cwd=where.parent)
    assert installed.returncode == 0, installed.stderr[-3000:]
    return where / "bin"


@pytest.fixture(scope="module")
def plain(wheel, tmp_path_factory) -> Path:
    return _venv(wheel, tmp_path_factory.mktemp("plain") / "venv")


@pytest.fixture(scope="module")
def outside(tmp_path_factory) -> Path:
    """A working folder outside the repository, with a deploy config of the user's own."""
    folder = tmp_path_factory.mktemp("user")
    (folder / "deploy.yaml").write_text(Path(ROOT, "examples", "two-routes.yaml").read_text())
    return folder


def ended(cutover, name: str) -> subprocess.CompletedProcess:
    """`cutover status` of the execution once it has ended."""
    deadline = time.time() + 180
    status = cutover("status", name)
    while "RUNNING" in status.stdout and time.time() < deadline:
        time.sleep(1)
        status = cutover("status", name)
    return status


def test_the_wheel_ships_the_one_definition_byte_for_byte_and_the_construct(wheel):
    with zipfile.ZipFile(wheel) as archive:
        shipped = archive.read("cutover/statemachine/release.asl.json")
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert shipped == Path(DEFINITION).read_bytes()
    # The construct comes with the package; its CDK dependencies with the `cdk` extra
    assert "cutover/cdk/orchestrator.py" in names and "cutover_steps/registry.py" in names
    assert 'aws-cdk-lib<3,>=2.275; extra == "cdk"' in metadata


def test_a_plain_install_has_no_local_engine_or_cdk_and_its_offline_commands_work(plain, outside):
    # Given a plain install: the runtime dependencies only
    for module in ("moto", "aws_cdk", "aws_xray_sdk"):
        probe = _run([str(plain / "python"), "-c", f"import {module}"], cwd=outside)
        assert probe.returncode != 0, f"{module} should not come with a plain install"

    # When a user checks a config, prints the schema and the flow
    validate = _run([str(plain / "cutover"), "validate", "deploy.yaml"], cwd=outside)
    schema = _run([str(plain / "cutover"), "schema"], cwd=outside)
    diagram = _run([str(plain / "cutover"), "diagram"], cwd=outside)

    # Then each works, from the installed package's own files
    assert validate.returncode == 0 and ": valid. Service" in validate.stdout, validate.stderr
    assert schema.returncode == 0 and '"$schema"' in schema.stdout, schema.stderr
    assert diagram.returncode == 0 and diagram.stdout.startswith("flowchart"), diagram.stderr


def test_the_local_extra_starts_the_sandbox_and_a_plain_install_runs_every_aws_command_against_it(
        wheel, plain, outside, tmp_path_factory):
    # Given the sandbox, started from an install with the local extra, outside the repository
    local = _venv(wheel, tmp_path_factory.mktemp("local") / "venv", "[local]")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sandbox_dir = outside / "sandbox"
    log_path = outside / "sandbox.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen([str(local / "cutover"), "sandbox", "up", "--port", str(port), "--dir", str(sandbox_dir)],
                                  cwd=outside, env=_clean_env(), stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + 120
            while time.time() < deadline and server.poll() is None and "Ctrl-C stops the sandbox" not in log_path.read_text():
                time.sleep(0.2)
            assert server.poll() is None, log_path.read_text()
            settings = dict(line.removeprefix("export ").strip().split("=", 1)
                            for line in (sandbox_dir / "env").read_text().splitlines())

            def cutover(*argv: str) -> subprocess.CompletedProcess:
                return _run([str(plain / "cutover"), *argv], cwd=outside, timeout=180, **settings)

            config = str(sandbox_dir / "deploy.yaml")
            release = ("--env", "demo", "--image", "web:2", "--config", config)

            # When the plain install plans, starts, approves, follows, rejects and rolls back
            plan = cutover("plan", "--version", "2", *release)
            start = cutover("start", "--version", "2", *release, "--name", "web-2")
            approve = cutover("approve", "web-2", "--wait-seconds", "90", "--by", "alice")
            status = ended(cutover, "web-2")
            history = cutover("history", "web-2")
            cutover("start", "--version", "3", *release, "--name", "web-3")
            reject = cutover("reject", "web-3", "--wait-seconds", "90", "--reason", "not today")
            rejected = ended(cutover, "web-3")  # torn down and unlocked: the rollback may take the lock
            rollback = cutover("rollback", "--env", "demo", "--service", "web", "--wait", "--timeout", "150")

            # Then every command works as it does from the checkout
            assert "now demo-web-1 (v1) -> demo-web-2" in plan.stdout, plan.stderr
            assert start.returncode == 0 and "Started web-2" in start.stdout, start.stderr
            assert approve.returncode == 0, approve.stderr
            assert status.returncode == 0 and "web-2: SUCCEEDED" in status.stdout, status.stderr
            assert "approved by alice" in history.stdout, history.stderr
            assert reject.returncode == 0, reject.stderr
            assert "Rejected by" in rejected.stdout and "arn:aws:sts::" in rejected.stdout, rejected.stdout
            assert rollback.returncode == 0 and "SUCCEEDED" in rollback.stdout, rollback.stdout + rollback.stderr
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(60)
            except subprocess.TimeoutExpired:
                server.kill()
                raise
