"""The release ledger: one entry per ended execution (release, rollback, stopped or not), read from its
history, kept in the release table beyond Step Functions' 90 days, and the DORA measures over it.

An entry lives in the item of its service and start day (`ledger#{service}#{YYYY-MM-DD}`) as the
attribute `release:{execution name}`: one UpdateItem writes it, the same entry written twice is one,
and a period is read by key (BatchGetItem), never by scanning. The item expires (DynamoDB TTL,
attribute `expires_at`) `LEDGER_RETENTION_DAYS` after its day.
"""
from __future__ import annotations

import json
import os
from datetime import date, datetime, timedelta, timezone
from statistics import median
from typing import Any

from cutover_steps.registry import QUESTION
from cutover_steps.results import ApprovalAnswer
from cutover_steps.decisions.stop_record import StopRecord
from cutover_steps.decisions.stopping import last_state_data

PREFIX = "ledger#"
ENTRY_PREFIX = "release:"
TTL_ATTRIBUTE = "expires_at"
DEFAULT_RETENTION_DAYS = 730
REJECTED = "ApprovalRejected"


def retention_days() -> int:
    return int(os.environ.get("LEDGER_RETENTION_DAYS") or DEFAULT_RETENTION_DAYS)


def item_key(service: str, day: date) -> str:
    return f"{PREFIX}{service}#{day.isoformat()}"


def expires_at(day: date, days: int) -> int:
    """Epoch seconds, as DynamoDB's TTL reads them: `days` after the end of `day`."""
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
    return int((end + timedelta(days=days)).timestamp())


def _loads(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _cause(text: str | None) -> str | None:
    report = _loads(text)
    return str(report["errorMessage"]) if isinstance(report, dict) and "errorMessage" in report else text


def _iso(moment: Any) -> str | None:
    return moment.astimezone(timezone.utc).isoformat() if isinstance(moment, datetime) else moment


def _ended(events: list[dict[str, Any]]) -> tuple[str, Any, dict[str, Any]]:
    """(status, when, details) of the execution's end event."""
    ends = {"ExecutionSucceeded": "SUCCEEDED", "ExecutionFailed": "FAILED", "ExecutionAborted": "ABORTED",
            "ExecutionTimedOut": "TIMED_OUT"}
    for event in reversed(events):
        if event["type"] in ends:
            details = next((v for k, v in event.items() if k.endswith("EventDetails")), None) or {}
            return ends[event["type"]], event["timestamp"], details
    return "RUNNING", None, {}


def entry(execution_name: str, events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """What the ledger says of an ended execution, from its history; None for one that has not ended
    or that never named a service (bad input before any plan says which)."""
    started_event = next((e for e in events if e["type"] == "ExecutionStarted"), None)
    status, ended_at, details = _ended(events)
    if started_event is None or ended_at is None:
        return None
    given = _loads(started_event.get("executionStartedEventDetails", {}).get("input")) or {}
    data = last_state_data(events)
    plan = data.get("plan") if isinstance(data.get("plan"), dict) else {}
    results = data.get("results") if isinstance(data.get("results"), dict) else {}
    config = plan.get("config") or (given.get("config") if isinstance(given.get("config"), dict) else {}) or {}
    service = config.get("service") or given.get("service")
    if not service:
        return None
    answer = None
    all_traffic_at = None
    traffic_moved = False
    asking = False
    for event in events:
        if event["type"] == "TaskScheduled":
            # The question of an inconclusive analysis is answered as an approval is: its answer is not the approval.
            scheduled = _loads((event.get("taskScheduledEventDetails") or {}).get("parameters")) or {}
            asking = QUESTION in (scheduled.get("Payload") or {})
        output = _loads((event.get("taskSucceededEventDetails") or event.get("lambdaFunctionSucceededEventDetails") or {}).get("output"))
        if isinstance(output, dict) and ApprovalAnswer.from_json(output) and not asking:
            answer = output
        if isinstance(output, dict) and "written" in output and "percent" in output:
            traffic_moved = True
            if output["percent"] == 100 and all_traffic_at is None:
                all_traffic_at = event["timestamp"]
    started_at = started_event["timestamp"]
    error = details.get("error") or None
    outcome, why = _outcome(status, error, _cause(details.get("cause")) or None, answer, traffic_moved, results)
    return {
        "execution": execution_name,
        "action": plan.get("action") or given.get("action", "release"),
        "env": plan.get("env") or given.get("env"),
        "service": service,
        "version": plan.get("version") or given.get("version"),
        "image": plan.get("image") or given.get("image"),
        "started_by": given.get("started_by"),
        "approved_by": ({"decision": answer.get("decision"), "name": answer.get("name") or answer.get("by"),
                         "identity": answer.get("identity")} if answer else None),
        "started": _iso(started_at),
        "ended": _iso(ended_at),
        "duration_seconds": round((ended_at - started_at).total_seconds(), 1),
        "all_traffic_at": _iso(all_traffic_at),
        "seconds_to_all_traffic": round((all_traffic_at - started_at).total_seconds(), 1) if all_traffic_at else None,
        "status": status,
        "traffic_moved": traffic_moved,
        "outcome": outcome,
        "why": why,
    }


def _outcome(status: str, error: str | None, cause: str | None, answer: dict[str, Any] | None, traffic_moved: bool,
             results: dict[str, Any]) -> tuple[str, str | None]:
    if status == "SUCCEEDED":
        return "succeeded", None
    if status == "ABORTED":
        # `cutover stop` records who and why as JSON in the cause: the ledger says it in words.
        stopped = StopRecord.of_abort(error, cause)
        return "stopped", (stopped.describe() if stopped else None) or cause or error or "stopped by StopExecution, no cause given"
    if status == "TIMED_OUT":
        return "timed out", "the execution ran past its time limit"
    if error == REJECTED or (answer and answer.get("decision") == "reject"):
        return "rejected", (answer or {}).get("reason") or cause
    words = f"{error}: {cause}" if error and cause else error or cause
    if traffic_moved and "retire" not in results:
        return "rolled back", words
    return "failed", words


# -- reading a period, and the DORA measures --------------------------------------------------------

def days(since: date, until: date) -> list[date]:
    return [since + timedelta(days=n) for n in range((until - since).days + 1)]


def entries_of(item: dict[str, Any]) -> list[dict[str, Any]]:
    return [value for name, value in item.items() if name.startswith(ENTRY_PREFIX) and isinstance(value, dict)]


def _at(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def change_failures(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Releases that hurt production: one that failed after public traffic moved (its own undo put it
    back), and one that succeeded and was then rolled back (a rollback of its env before the next
    release there). Each with the seconds until a good version served all traffic again."""
    ordered = sorted(entries, key=lambda e: e["started"])
    failures = []
    for index, release in enumerate(ordered):
        if release["action"] != "release" or not release["traffic_moved"]:
            continue
        if release["status"] != "SUCCEEDED":
            moved = _at(release["all_traffic_at"]) or _at(release["started"])
            failures.append({**_brief(release), "restored_by": release["execution"],
                             "seconds_to_restore": (_at(release["ended"]) - moved).total_seconds()})
            continue
        for later in ordered[index + 1:]:
            if later["env"] != release["env"]:
                continue
            if later["action"] == "release" and later["status"] == "SUCCEEDED":
                break
            if later["action"] == "rollback" and later["status"] == "SUCCEEDED":
                failures.append({**_brief(release), "restored_by": later["execution"],
                                 "seconds_to_restore": (_at(later["ended"]) - _at(release["ended"])).total_seconds()})
                break
    return failures


def _brief(entry: dict[str, Any]) -> dict[str, Any]:
    return {"execution": entry["execution"], "env": entry["env"], "version": entry["version"]}


def stats(entries: list[dict[str, Any]], since: date, until: date) -> dict[str, Any]:
    """The DORA measures over the period: deploy frequency (succeeded releases a day and a week),
    change failure rate (change failures / releases that moved public traffic), time to restore, and
    time from start to all traffic (the lead time Cutover sees: the approval wait included)."""
    period_days = (until - since).days + 1
    releases = [e for e in entries if e["action"] == "release"]
    succeeded = [e for e in releases if e["status"] == "SUCCEEDED"]
    moved = [e for e in releases if e["traffic_moved"]]
    failures = change_failures(entries)
    restore = [f["seconds_to_restore"] for f in failures]
    to_traffic = [e["seconds_to_all_traffic"] for e in succeeded if e["seconds_to_all_traffic"] is not None]
    outcomes: dict[str, int] = {}
    for e in entries:
        outcomes[f"{e['action']} {e['outcome']}"] = outcomes.get(f"{e['action']} {e['outcome']}", 0) + 1
    return {
        "since": since.isoformat(), "until": until.isoformat(), "days": period_days,
        "releases": len(releases), "succeeded": len(succeeded), "rollbacks": sum(e["action"] == "rollback" for e in entries),
        "outcomes": dict(sorted(outcomes.items())),
        "deploy_frequency": {"per_day": round(len(succeeded) / period_days, 3),
                             "per_week": round(7 * len(succeeded) / period_days, 2)},
        "change_failure_rate": round(len(failures) / len(moved), 3) if moved else None,
        "change_failures": failures,
        "time_to_restore_seconds": {"median": median(restore), "max": max(restore)} if restore else None,
        "start_to_all_traffic_seconds": {"median": median(to_traffic), "max": max(to_traffic)} if to_traffic else None,
    }
