"""Which services of the emulated account were last written to, so that its watchers look again
only when something they watch may have changed.

The data plane (dataplane.py) and the empty-target sampler (invariants.py) used to read the account
every tenth or fifth of a second whether anything had changed or not: about a quarter of a test's
CPU, taken from the very steps they watch (the emulator's threads share one interpreter). Every
call the emulator answers in this process passes through moto's `BaseResponse.call_action`, which
is counted here per service and per action when it is not a read (Describe, List, Get); a watcher
waits for the count of what it watches to move, at most as often as it used to look.

A call served by another process (a sandbox's) is not seen here: `answered_here` tells a watcher
whether its own reads are answered in its thread, and one whose are not keeps looking on a clock.
"""
from __future__ import annotations

import functools
import threading
from collections import Counter
from typing import Iterable

READS = ("Describe", "List", "Get")

_changed = threading.Condition()
_writes: Counter[str] = Counter()
_here = threading.local()


def install() -> None:
    """Count every write the emulator answers in this process (once per process; idempotent)."""
    from moto.core.responses import BaseResponse

    original = BaseResponse.call_action
    if getattr(original, "counts_writes", False):
        return

    @functools.wraps(original)
    def call_action(self, *args, **kwargs):
        _here.answered = getattr(_here, "answered", 0) + 1
        try:
            action = self._get_action() or ""
        except Exception:  # noqa: BLE001 - the call itself answers a request it cannot route
            action = ""
        try:
            return original(self, *args, **kwargs)
        finally:
            if not action.startswith(READS):
                written(self.service_name or "", action)

    call_action.counts_writes = True
    BaseResponse.call_action = call_action


def written(service: str, action: str) -> None:
    """Count a write, under its service ("elbv2") and its action ("elbv2:ModifyRule"), and wake every
    watcher (also for a change the engine makes without a call)."""
    with _changed:
        _writes[service] += 1
        _writes[f"{service}:{action}"] += 1
        _changed.notify_all()


def seen(watched: Iterable[str]) -> int:
    """The writes counted so far under `watched`: services, or service:action keys."""
    with _changed:
        return sum(_writes[key] for key in watched)


def wait(watched: tuple[str, ...], after: int, timeout: float, stop: threading.Event) -> bool:
    """Until a write under `watched` makes their count differ from `after`, `stop` is set (and
    `wake()` called), or `timeout`; whether there was such a write."""
    with _changed:
        _changed.wait_for(lambda: stop.is_set() or seen(watched) != after, timeout)
        return seen(watched) != after


def wake() -> None:
    """Let every waiter look at its stop event again."""
    with _changed:
        _changed.notify_all()


def answered_here() -> int:
    """How many calls this thread's emulator has answered in this thread: a client of an in-process
    mock is answered in the caller's thread, one of a server (a sandbox's, or a port's) is not."""
    return getattr(_here, "answered", 0)
