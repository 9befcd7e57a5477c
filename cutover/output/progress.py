"""Follow an execution as it runs: an event per finished state, and a status line (health, traffic).

On a terminal the status line is rewritten in place; in a CI log (not a TTY) and in JSON Lines it
comes only when it says something new, so the log reads as a plain timeline.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from cutover.operations import executions as operations
from cutover.output import render
from cutover.aws import step_functions
from cutover.output.reports import Event, analysis_lines, answer_commands, answer_wait_words, what_it_did
from cutover.output.status_line import phase, status_line
from cutover.output.streaming import Emit

QUIET_TYPES = {"Choice", "Wait"}  # loop plumbing: the status line covers it
NON_TTY_REPEAT_SECONDS = 15
# An approval may wait for hours: a CI log gets its line again this often, so it shows the job is alive.
APPROVAL_REPEAT_SECONDS = 300


def state_line(entry: dict[str, Any]) -> str:
    took = render.duration(render.seconds_between(entry["entered"], entry["exited"]))
    return f"{render.clock(entry['entered'])}  {entry['state']:<46} {took:>9}  {what_it_did(entry)}".rstrip()


class Follower:
    """Follows an execution until it ends (or `timeout` passes): an event for each state that finished,
    for the approval it waits for, and for its status line."""

    def __init__(self, sfn, execution_arn: str, emit: Emit, *, live: bool = False, poll: float = 1.0,
                 on_approval: Callable[[], None] | None = None, prefix: str = "", status_lines: bool = True):
        self.sfn, self.arn, self.emit = sfn, execution_arn, emit
        self.name = execution_arn.rsplit(":", 1)[-1]
        # Live (a terminal): the status line is shown at every poll, rewritten in place. Otherwise (a CI
        # log, JSON Lines) only when it says something new, so the log reads as a plain timeline.
        self.live = live
        self.poll, self.on_approval, self.prefix = poll, on_approval, prefix
        self.status_lines = status_lines
        self._printed_entries = 0
        self._status_at = 0.0
        # The answers waited for that were told already (by when each was asked): an approval, then
        # perhaps a question at each hold whose analysis ended inconclusive.
        self._announced: set[Any] = set()
        self._last_status = ""
        self._last_waiting = False

    def _event(self, kind: str, data: dict[str, Any], text: str, passing: bool = False) -> None:
        self.emit(Event(kind, {"execution": self.name, **data}, self.prefix + text, passing))

    def _show_status(self, events: list[dict[str, Any]], status: str, waiting: bool = False) -> None:
        text = status_line(events, status)
        if not self.live:
            now = time.time()
            # The wait for an answer starting (its request sent) is news within its state's phase: a
            # log that showed the state being entered gets the line that says since when it waits.
            new_phase = (phase(text), waiting) != (phase(self._last_status), self._last_waiting)
            repeat = APPROVAL_REPEAT_SECONDS if phase(text) in operations.ANSWER_STATES else NON_TTY_REPEAT_SECONDS
            if text == self._last_status or not (new_phase or now - self._status_at >= repeat):
                return
            self._last_status, self._status_at, self._last_waiting = text, now, waiting
        self._event("progress", {"state": operations.current_state(events), "progress": text}, f"... {text}", self.live)

    def _print_finished(self, events: list[dict[str, Any]], ended: bool) -> None:
        for entry in operations.timeline(events)[self._printed_entries:]:
            if entry["exited"] is None and not ended and entry["type"] not in ("Succeed", "Fail"):
                break
            if entry["type"] not in QUIET_TYPES:
                self._event("state", {**entry, "description": what_it_did(entry)}, state_line(entry))
            self._printed_entries += 1

    def step(self) -> dict[str, Any] | None:
        """One poll: what finished, the status line; the description once the execution ended."""
        description = step_functions.describe(self.sfn, self.arn)
        status = description["status"]
        # History after the status: once the execution has ended, its history is complete.
        events = operations.history(self.sfn, self.arn)
        self._print_finished(events, status in operations.TERMINAL)
        if status in operations.TERMINAL:
            return description
        wait = operations.approval_wait(events)
        if wait and wait["since"] not in self._announced:
            self._announced.add(wait["since"])
            approve, reject = f"cutover approve {self.name}", f"cutover reject {self.name} --reason '...'"
            if wait.get("question"):
                # Whether the new version goes on, the analysis inconclusive: the scorecard, and what each answer does.
                self._event("waiting_for_answer", {"approve": approve, "reject": reject, **wait},
                            "\n".join([f"waiting {answer_wait_words(wait)}", *analysis_lines(wait.get("analysis") or {}),
                                       *answer_commands(self.name, "  ")]))
            else:
                urls = [f"  try it     {u['url']} (route {u['route']})" for u in wait["preparing_urls"]]
                self._event("waiting_for_approval", {"approve": approve, "reject": reject, **wait},
                            "\n".join([f"waiting for approval {render.approval_wait(wait, time.time())}", *urls,
                                       f"  approve    {approve}", f"  reject     {reject}"]))
                if self.on_approval:
                    self.on_approval()
                    return None
        if self.status_lines:
            self._show_status(events, status, waiting=wait is not None)
        return None

    def run(self, timeout: float | None = None) -> dict[str, Any]:
        deadline = None if timeout is None else time.time() + timeout
        while True:
            description = self.step()
            if description is not None:
                return description
            if deadline is not None and time.time() >= deadline:
                return step_functions.describe(self.sfn, self.arn)
            time.sleep(self.poll)
