"""docs/walkthrough.md pasted into shells: its command blocks run in order against one sandbox, in a
directory of their own, each ending as the page says and printing the lines the page shows."""
from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cutover import ROOT
from tests.cli.helpers import free_port

pytestmark = pytest.mark.e2e

PAGE = Path(ROOT) / "docs" / "walkthrough.md"
PAGE_PORT = "4566"  # the sandbox's default port, which the page shows
OPERATOR = "alice"  # the page's operator: their user name is what approvals record
# A command whose shown output has this line waits in its shell for an operator; the page's next
# command is the operator's, typed in another shell once this line is on screen.
WAITS_FOR_APPROVAL = "waiting for approval since"


@dataclass
class Step:
    command: str
    shown: list[str] = field(default_factory=list)

    @property
    def key_lines(self) -> list[str]:
        """What the page shows, less the progress lines (`... `): a terminal gets them as the release's
        timing allows."""
        return [line for line in self.shown if line.strip() and not line.startswith("... ")]


def steps() -> list[Step]:
    """The `$ ` commands of the page's console blocks, in order, each with the output shown under it."""
    found: list[Step] = []
    for block in re.findall(r"```console\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                found.append(Step(line[2:]))
            else:
                found[-1].shown.append(line)
    return found


def normalized(line: str) -> str:
    """A line with what differs from run to run (dates, clock times, durations, counts of looks) made
    alike, and runs of spaces (the columns' padding) as one."""
    line = re.sub(r"\d{4}-\d{2}-\d{2}", "DATE", line)
    line = re.sub(r"(?<![\d.])\d{2}:\d{2}(:\d{2}(\.\d+)?)?(?!\d)", "TIME", line)
    line = re.sub(r"\d+(\.\d+)?(?= (s|min|h|look\(s\))\b)", "N", line)
    return " ".join(line.split())


def missing_lines(shown: list[str], printed: str) -> list[str]:
    """The shown lines that the output lacks, or prints out of the page's order."""
    lines = [normalized(line) for line in printed.splitlines()]
    missing, at = [], 0
    for line in shown:
        wanted = normalized(line)
        found = next((i for i in range(at, len(lines)) if lines[i] == wanted), None)
        if found is None:
            missing.append(line)
        else:
            at = found + 1
    return missing


def argv(command: str) -> list[str]:
    words = shlex.split(command)
    assert words[:3] == ["python", "-m", "cutover"], f"the walkthrough runs `{command}`, which this test cannot run"
    return [sys.executable, "-m", "cutover", *words[3:]]


@contextlib.contextmanager
def sandbox(step: Step, directory: Path, env: dict[str, str]) -> Iterator[str]:
    """The page's `sandbox up`, on a free port (two runs, or a sandbox of one's own, may not share the
    page's), serving until Ctrl-C as the page says; yields the port."""
    port = str(free_port())
    out = directory / "sandbox.out"
    with open(out, "w") as log:
        process = subprocess.Popen([*argv(step.command), "--port", port], cwd=directory, env=env,
                                   stdout=log, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.time() + 120
            while "Ctrl-C stops the sandbox" not in out.read_text() and process.poll() is None and time.time() < deadline:
                time.sleep(0.2)
            assert process.poll() is None, out.read_text()
            shown = [line.replace(f":{PAGE_PORT}", f":{port}") for line in step.key_lines]
            assert not missing_lines(shown, out.read_text()), (missing_lines(shown, out.read_text()), out.read_text())
            yield port
        except BaseException:
            process.kill()
            process.wait(30)
            raise
        process.send_signal(signal.SIGINT)
        assert process.wait(150) == 0, out.read_text()[-3000:]


def sourced(path: Path, env: dict[str, str]) -> dict[str, str]:
    """`source FILE` of a file of `export NAME=VALUE` lines, as the sandbox writes."""
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    assert all(re.fullmatch(r"export [A-Z_]+=\S+", line) for line in lines), lines
    return {**env, **dict(line.removeprefix("export ").split("=", 1) for line in lines)}


def ended_as_shown(step: Step, code: int, printed: str) -> None:
    assert code == 0, f"`{step.command}` exited {code}:\n{printed}"
    missing = missing_lines(step.key_lines, printed)
    assert not missing, f"`{step.command}` did not print, in the page's order:\n" + "\n".join(missing) + f"\n\nIt printed:\n{printed}"


def test_the_walkthrough_s_commands_work_as_pasted(tmp_path):
    # Given a shell in a directory of the user's, with no AWS settings of the test's own
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CUTOVER_", "GITHUB_"))}
    env["CUTOVER_USER"] = OPERATOR
    # in a terminal as wide as the page's lines (history wraps its last column to the terminal's width)
    env["COLUMNS"] = str(max(len(line) for step in steps() for line in step.shown))
    first, *rest = steps()
    assert first.command.startswith("python -m cutover sandbox up"), first.command
    # When the page's commands are pasted one after the other, the sandbox serving in its own shell
    with sandbox(first, tmp_path, env):
        waiting: tuple[Step, subprocess.Popen, Path] | None = None
        for number, step in enumerate(rest):
            if step.command.startswith("source "):
                env = sourced(tmp_path / step.command.split()[1], env)
                continue
            if any(WAITS_FOR_APPROVAL in line for line in step.shown):
                # It waits in its shell; the operator's command comes from another one, once the wait shows.
                out = tmp_path / f"step-{number}.out"
                with open(out, "w") as log:
                    process = subprocess.Popen(argv(step.command), cwd=tmp_path, env=env, text=True,
                                               stdout=log, stderr=subprocess.STDOUT)
                deadline = time.time() + 120
                while WAITS_FOR_APPROVAL not in out.read_text() and process.poll() is None and time.time() < deadline:
                    time.sleep(0.2)
                assert WAITS_FOR_APPROVAL in out.read_text(), f"`{step.command}` never waited for an operator:\n{out.read_text()}"
                waiting = (step, process, out)
                continue
            done = subprocess.run(argv(step.command), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
            # Then each ends as the page says, and prints the lines it shows
            ended_as_shown(step, done.returncode, done.stdout + done.stderr)
            if waiting:
                waited, process, out = waiting
                ended_as_shown(waited, process.wait(180), out.read_text())
                waiting = None
        assert waiting is None, f"`{waiting[0].command}` waits for an operator, and no command of the page answers it"
