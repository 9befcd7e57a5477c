"""What `cutover stop` records: the reason and who stopped the release, carried in StopExecution's
`error` and `cause` so the execution history (the audit log) keeps them, and read back from it."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# StopExecution's `error` (at most 256 characters): one name for every stop from the command line.
STOPPED_BY_OPERATOR = "StoppedByOperator"
# StopExecution's limits (API reference, StopExecution: error 0-256, cause 0-32768 characters).
ERROR_MAX, CAUSE_MAX = 256, 32768
# A reason is a sentence or a paragraph; the cause also carries who stopped it, and AWS's limit is the cause's.
REASON_MAX = 4096


@dataclass(frozen=True)
class StopRecord:
    reason: str
    name: str
    identity: str | None = None

    @property
    def by(self) -> str:
        """The name given and, beside it, the AWS identity that sent the stop, as approvals record them."""
        return f"{self.name} ({self.identity})" if self.identity else self.name

    def cause(self) -> str:
        return json.dumps({"reason": self.reason, "by": self.by, "name": self.name, "identity": self.identity},
                          ensure_ascii=False)

    def to_json(self) -> dict[str, Any]:
        return {"reason": self.reason, "by": self.by, "name": self.name, "identity": self.identity}

    def describe(self) -> str:
        return f"stopped by {self.by}: {self.reason}"

    @classmethod
    def of_abort(cls, error: str | None, cause: str | None) -> StopRecord | None:
        """The record a stop from the command line left in its ExecutionAborted event; None for any other stop."""
        if error != STOPPED_BY_OPERATOR:
            return None
        try:
            data = json.loads(cause or "")
        except ValueError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("reason"), str):
            return None
        return cls(reason=data["reason"], name=str(data.get("name") or "?"), identity=data.get("identity"))


def reason_problem(reason: str | None) -> str | None:
    """Why `--reason` cannot be recorded, with the fix; None when it can."""
    if reason is None or not reason.strip():
        return "--reason: say why the release is stopped; it goes into the execution's history and the notification"
    if len(reason) > REASON_MAX:
        return f"--reason: {len(reason)} characters; at most {REASON_MAX} (shorten it, link to details)"
    return None


def cause_problem(record: StopRecord) -> str | None:
    """Why Step Functions would refuse this stop's cause (a very long --by), with the fix; None when it fits."""
    length = len(record.cause())
    if length > CAUSE_MAX:
        return (f"--reason and --by: the stop's cause would be {length} characters and StopExecution takes at most "
                f"{CAUSE_MAX}; shorten them")
    return None


def stop_of(events: list[dict[str, Any]]) -> StopRecord | None:
    """Who stopped the execution and why, from its ExecutionAborted event (events in any order)."""
    for event in events:
        if event["type"] == "ExecutionAborted":
            details = event.get("executionAbortedEventDetails") or {}
            return StopRecord.of_abort(details.get("error"), details.get("cause"))
    return None
