"""Write an ended execution into the release ledger (`cutover_steps.decisions.ledger`): what it released, who started
and approved it, when it started and ended, how it ended and why.

An EventBridge rule (Step Functions Execution Status Change: succeeded, failed, timed out, aborted)
calls it for every execution of the release state machine, so a release stopped by hand is written
as surely as one that succeeded. The entry is read from the execution's history alone, and writing it
again writes the same entry.
"""
from __future__ import annotations

from datetime import datetime

from cutover_steps.decisions import ledger
from cutover_steps.adapters import executions, records
from cutover_steps.results import LedgerWritten
from cutover_steps.runtime.step import StepEvent, lambda_step


@lambda_step
def handler(event: StepEvent) -> LedgerWritten:
    detail = event.raw.get("detail") or {}
    execution = detail.get("executionArn", "")
    name = execution.rsplit(":", 1)[-1]
    entry = ledger.entry(name, executions.history(execution))
    if entry is None:
        return LedgerWritten(execution=name, found="not written: it has not ended, or it never named a service")
    day = datetime.fromisoformat(entry["started"]).date()
    key = ledger.item_key(entry["service"], day)
    records.update(key, {"service": entry["service"], "day": day.isoformat(),
                         ledger.TTL_ATTRIBUTE: ledger.expires_at(day, ledger.retention_days()),
                         f"{ledger.ENTRY_PREFIX}{name}": entry})
    return LedgerWritten(execution=name, changed=f"{entry['action']} {entry['service']} {entry['version']} "
                                                  f"({entry['env']}): {entry['outcome']}", key=key)
