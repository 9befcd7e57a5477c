"""Follow an execution as it runs: a line per finished state, and a status line (health, traffic).

On a terminal the status line is rewritten in place; in a CI log (not a TTY) it is printed only
when it says something new, so the log reads as a plain timeline.
"""
from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from cutover import operations, render, states

QUIET_TYPES = {"Choice", "Wait"}  # loop plumbing: the status line covers it
NON_TTY_REPEAT_SECONDS = 15


def loop_progress(events: list[dict[str, Any]], loop: frozenset[str], now: float) -> str | None:
    """What the loop's steps last said of their progress (healthy counts, the hold left)."""
    detail = None
    for state, output in operations.step_results(events):
        if state in loop:
            result = states.read(state, output)
            detail = (result.progress(now) if result else None) or detail
    return detail


def status_line(events: list[dict[str, Any]], status: str, now: float | None = None) -> str:
    """The state running now, and in a loop what its steps last said: `<state> - 2/3 healthy`,
    `<state> - 50% new, 37 s left`."""
    now = time.time() if now is None else now
    if status != "RUNNING":
        return status
    state = operations.current_state(events) or "starting"
    detail = None
    loop = states.loops().get(state)
    if loop:
        detail = loop_progress(events, loop, now)
    elif state == operations.APPROVAL_STATE:
        detail = "waiting for an operator"
    return f"{state} - {detail}" if detail else state


def phase(status: str) -> str:
    """Loops (health polling, traffic holds) count as one phase, so a CI log is not flooded."""
    state = status.split(" - ")[0]
    loop = states.loops().get(state)
    return min(loop) if loop else state


def state_line(entry: dict[str, Any]) -> str:
    took = render.duration(render.seconds_between(entry["entered"], entry["exited"]))
    what = render.error_text(entry["error"]) if entry["error"] else states.describe(entry["state"], entry["result"])
    return f"{render.clock(entry['entered'])}  {entry['state']:<46} {took:>9}  {what}".rstrip()


class Follower:
    """Prints an execution's progress to `out` until it ends (or `timeout` passes)."""

    def __init__(self, sfn, execution_arn: str, out: TextIO | None = None, *, tty: bool | None = None,
                 poll: float = 1.0, on_approval: Callable[[], None] | None = None, prefix: str = "",
                 status_lines: bool = True):
        self.sfn, self.arn = sfn, execution_arn
        self.out = out or sys.stdout
        self.tty = self.out.isatty() if tty is None else tty
        self.poll, self.on_approval, self.prefix = poll, on_approval, prefix
        self.status_lines = status_lines
        self._printed_entries = 0
        self._status_shown = ""
        self._status_at = 0.0
        self._approval_announced = False
        self._last_plain = ""

    def _write_line(self, text: str) -> None:
        if self.tty and self._status_shown:
            self.out.write("\r\033[K")  # clear the status line; it is redrawn below
            self._status_shown = ""
        self.out.write(self.prefix + text + "\n")
        self.out.flush()

    def _show_status(self, text: str) -> None:
        if self.tty:
            width = max(20, shutil.get_terminal_size((100, 24)).columns - 1)
            self.out.write("\r\033[K" + (self.prefix + "... " + text)[:width])
            self.out.flush()
            self._status_shown = text
            return
        # A CI log gets a new line when the state changes, or at most every few seconds otherwise.
        now = time.time()
        new_phase = phase(text) != phase(self._last_plain)
        if text != self._last_plain and (new_phase or now - self._status_at >= NON_TTY_REPEAT_SECONDS):
            self.out.write(f"{self.prefix}... {text}\n")
            self.out.flush()
            self._last_plain, self._status_at = text, now

    def _print_finished(self, events: list[dict[str, Any]], ended: bool) -> None:
        for entry in operations.timeline(events)[self._printed_entries:]:
            if entry["exited"] is None and not ended and entry["type"] not in ("Succeed", "Fail"):
                break
            if entry["type"] not in QUIET_TYPES:
                self._write_line(state_line(entry))
            self._printed_entries += 1

    def step(self) -> dict[str, Any] | None:
        """One poll: print what finished, refresh the status; the description once the execution ended."""
        description = self.sfn.describe_execution(executionArn=self.arn)
        status = description["status"]
        # History after the status: once the execution has ended, its history is complete.
        events = operations.history(self.sfn, self.arn)
        self._print_finished(events, status in operations.TERMINAL)
        if status in operations.TERMINAL:
            if self.tty and self._status_shown:
                self.out.write("\r\033[K")
                self._status_shown = ""
            return description
        if not self._approval_announced and operations.pending_approval(events)[0]:
            self._approval_announced = True
            name = description["name"]
            self._write_line(f"waiting for approval: cutover approve {name}   |   cutover reject {name} --reason '...'")
            if self.on_approval:
                self.on_approval()
                return None
        if self.status_lines:
            self._show_status(status_line(events, status))
        return None

    def run(self, timeout: float | None = None) -> dict[str, Any]:
        deadline = None if timeout is None else time.time() + timeout
        while True:
            description = self.step()
            if description is not None:
                return description
            if deadline is not None and time.time() >= deadline:
                if self.tty and self._status_shown:
                    self.out.write("\n")
                return self.sfn.describe_execution(executionArn=self.arn)
            time.sleep(self.poll)
