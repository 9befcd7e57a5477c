"""Looking again and again inside one invocation, within the function's own time limit.

A health wait or a traffic hold runs in one invocation of its step, sleeping between looks, so
that its cost in state transitions does not grow with its length: the step returns when it is
done, or when the time its function has left (`context.get_remaining_time_in_millis()`) would
not cover one more look plus a margin; the state machine then runs it again, once per time limit.
"""
from __future__ import annotations

import time
from typing import Any

# Sleeps are cut into slices this long, so that a function whose time is cut short (the local
# engine ending its account) stops within a second.
SLICE_SECONDS = 1.0


def seconds_left(context: Any) -> float:
    """What the function has left before Lambda stops it; a call with no context (a test, the
    command line) has no limit of its own."""
    if context is None or not hasattr(context, "get_remaining_time_in_millis"):
        return float("inf")
    return context.get_remaining_time_in_millis() / 1000


def pause(seconds: float, context: Any, margin: float) -> bool:
    """Sleep `seconds` unless that would leave the function less than `margin`; False when it did
    not (or could not) sleep that long, and the caller should return for the state machine to go on."""
    if seconds_left(context) - seconds < margin:
        return False
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        if seconds_left(context) < margin:
            return False
        time.sleep(min(SLICE_SECONDS, left))
    return True
