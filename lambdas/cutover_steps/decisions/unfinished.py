"""Work after the switch that did not finish: the release succeeded, the next release finishes it.

Once public traffic is on the new version only and the old one is retired, a failed cleanup,
obsolete mark, record, notification or unlock moves no traffic. The state machine keeps each such failure
under `warnings` (step key -> the Catch's Error and Cause); this module says them in words for the
notification, `cutover status` and `cutover history`, by the names the definition gives those states.
"""
from __future__ import annotations

import json
from typing import Any

from cutover_steps.results import split_message

# Key under `warnings` (the result key of the state whose Catch put it there) -> what is left to do.
LEFT_TO_DO = {
    "cleanup": "versions marked obsolete earlier may not all be deleted, nor the version retired now marked obsolete",
    "record": "the release record does not say yet which version serves",
    "notify": "the success notification was not sent",
    "unlock": "the service's lock is still held by this ended release; the next release takes it over",
}
# What a release stopped after the switch has not done and the next release does; the undo of
# stopped releases itself frees the lock and says what it did instead of notifying success.
AFTER_A_STOP = ("cleanup", "record")


def message_of(cause: Any) -> str:
    """A Lambda error's cause is its JSON report: people need its message, not the stack."""
    try:
        report = json.loads(cause) if isinstance(cause, str) else cause
    except ValueError:
        return str(cause)
    if isinstance(report, dict) and "errorMessage" in report:
        return split_message(str(report["errorMessage"]))[0]
    return "" if cause is None else str(cause)


def describe(warnings: dict[str, Any] | None, states: dict[str, str]) -> list[dict[str, str]]:
    """One entry per unfinished piece of work, in the order the steps run. `states`: the name of the
    state that left each key, from the definition (the notification's state passes them in, the
    command line reads them), so that people read the names `cutover history` shows."""
    found = []
    for key, left in LEFT_TO_DO.items():
        failure = (warnings or {}).get(key)
        if not isinstance(failure, dict):
            continue
        found.append({"step": states.get(key, key), "left_to_do": left, "error": str(failure.get("Error") or "error"),
                      "message": message_of(failure.get("Cause"))})
    return found


def line(warning: dict[str, str]) -> str:
    message = f": {warning['message']}" if warning["message"] else ""
    return f"{warning['step']} failed ({warning['error']}{message}); {warning['left_to_do']}"
