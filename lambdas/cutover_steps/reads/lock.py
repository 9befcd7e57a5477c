"""The service's lock item and the state of the execution holding it: what LockService decides from."""
from __future__ import annotations

from typing import Any

from cutover_steps.adapters import records
from cutover_steps.adapters.executions import status as execution_status
from cutover_steps.decisions.stopping import undo_execution_arn


def found(key: str, owner: str | None) -> tuple[dict[str, Any] | None, bool, bool]:
    """The lock item, whether its holder still runs, and whether the holder ended outside its flow
    with its undo not run yet (both asked only when someone else holds it)."""
    held = records.get(key)
    holder = (held or {}).get("held_by")
    if not holder or holder == owner:
        return held, False, False
    status = execution_status(holder)
    if status == "RUNNING":
        return held, True, False
    # Stopped or timed out: its undo (named after it) frees the lock when done; until it has run, the
    # release's steps may still be changing the service and what they left is not undone.
    pending = status in ("ABORTED", "TIMED_OUT") and execution_status(undo_execution_arn(holder)) in (None, "RUNNING")
    return held, False, pending
