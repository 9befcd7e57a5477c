"""The status line of a running release: the state running now and, in a loop, what its steps last
said (`<state> - 2/3 healthy`); `cutover status` and the followed stream both show it."""
from __future__ import annotations

import time
from typing import Any

from cutover.operations import executions as operations
from cutover.output import render
from cutover.definition import states


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
    # The question of an inconclusive analysis lies in the traffic holds' loop, but is a wait of its own.
    if state in operations.ANSWER_STATES:
        wait = operations.approval_wait(events)
        detail = "waiting for an operator" + (f" {render.approval_wait(wait, now)}" if wait else "")
    elif loop:
        detail = loop_progress(events, loop, now)
    return f"{state} - {detail}" if detail else state


def phase(status: str) -> str:
    """Loops (health polling, traffic holds) count as one phase, so a CI log is not flooded; a wait for an
    operator's answer is a phase of its own, even inside the holds' loop."""
    state = status.split(" - ")[0]
    loop = states.loops().get(state)
    if state in operations.ANSWER_STATES or not loop:
        return state
    return min(loop - operations.ANSWER_STATES)
