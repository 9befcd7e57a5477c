"""Run the command line in-process as a user would, capturing what they would read."""
from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cutover import ROOT
from cutover.cli import main
from cutover.local import environment


@dataclass
class Result:
    code: int
    out: str
    err: str


def cutover(*argv: str) -> Result:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return Result(code, out.getvalue(), err.getvalue())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def sandbox_process(directory: Path, *options: str, ready_seconds: float = 180) -> Iterator[dict[str, Any]]:
    """`cutover sandbox up` in its own process on a free port, stopped (and checked) on exit. It is
    given minutes to start: the suite runs more test processes than CPUs, and a sandbox that is
    ready sooner is used sooner."""
    port = free_port()
    # Its output goes to a file: a pipe nobody reads after the banner would fill up and block it.
    log_path = directory / "sandbox.log"
    log = open(log_path, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "cutover", "sandbox", "up", "--port", str(port), "--dir", str(directory), *options],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.time() + ready_seconds
    while time.time() < deadline and process.poll() is None:
        if "Ctrl-C stops the sandbox" in log_path.read_text():
            break
        time.sleep(0.2)
    banner = log_path.read_text()
    try:
        assert process.poll() is None, banner
        yield {"port": port, "dir": directory, "banner": banner, "process": process}
    except BaseException:
        # A failing test does not leave its sandbox serving.
        process.kill()
        process.wait(30)
        log.close()
        raise
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(300)
    except subprocess.TimeoutExpired:
        # What it still waits for: the sandbox prints its threads' stacks on SIGUSR1.
        process.send_signal(signal.SIGUSR1)
        time.sleep(3)
        process.kill()
        process.wait(30)
        raise AssertionError(f"the sandbox did not stop in 300 s:\n{log_path.read_text()[-12000:]}") from None
    finally:
        log.close()
    assert code == 0, log_path.read_text()[-3000:]


def sandbox_env(sandbox: dict[str, Any]) -> dict[str, str]:
    """Only what the sandbox's env file says: no credentials or region of the test's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("CUTOVER_")}
    env.update(dict(line.removeprefix("export ").strip().split("=", 1)
                    for line in (sandbox["dir"] / "env").read_text().splitlines()))
    return env


def cutover_process(sandbox: dict[str, Any], *argv: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cutover", *argv], cwd=ROOT, env=sandbox_env(sandbox),
                          capture_output=True, text=True, timeout=timeout, check=False)


def demo_service(engine: Any, directory: Path) -> dict[str, Any]:
    """The demo environment in the engine's account, no version deployed yet, and its config written
    where a user keeps it."""
    env = environment.create(engine.client)
    path = directory / "deploy.yaml"
    path.write_text(environment.config_text(env.values))
    return {"env": env, "config_path": str(path), "config": environment.demo_config(env.values)}
