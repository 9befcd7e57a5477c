"""`cutover releases`: the release ledger of a service (cutover_steps.decisions.ledger) over a period, and its DORA
measures with `--stats`. Reads the day items of the period by key (BatchGetItem), nothing else."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from cutover_steps.decisions import ledger

from cutover.output import render
from cutover.aws import release_table
from cutover.exits import UsageError

DEFAULT_DAYS = 30


def period(since: str | None, until: str | None, today: date | None = None) -> tuple[date, date]:
    today = today or datetime.now(timezone.utc).date()
    try:
        end = date.fromisoformat(until) if until else today
        start = date.fromisoformat(since) if since else end - timedelta(days=DEFAULT_DAYS - 1)
    except ValueError as error:
        raise UsageError(f"--since/--until: write a date as YYYY-MM-DD ({error})") from error
    if start > end:
        raise UsageError(f"--since {start} is after --until {end}")
    return start, end


def read(dynamodb, table: str, service: str, start: date, end: date) -> list[dict[str, Any]]:
    """Every ledger entry of `service` that started in the period, oldest first."""
    found: list[dict[str, Any]] = []
    for item in release_table.items(dynamodb, table, [ledger.item_key(service, day) for day in ledger.days(start, end)]):
        found += ledger.entries_of(item)
    return sorted(found, key=lambda e: e["started"])


def report(entries: list[dict[str, Any]], service: str, env: str | None, start: date, end: date) -> dict[str, Any]:
    entries = [e for e in entries if env is None or e["env"] == env]
    return {"service": service, "env": env, "since": start.isoformat(), "until": end.isoformat(), "releases": entries}


def _who(person: dict[str, Any] | None) -> str:
    if not person:
        return "-"
    name, identity = person.get("name"), person.get("identity")
    return f"{name} ({identity.rsplit('/', 1)[-1]})" if identity and identity.rsplit("/", 1)[-1] != name else name or identity or "-"


def text(found: dict[str, Any]) -> str:
    head = f"Releases of {found['service']}" + (f" in env {found['env']}" if found["env"] else "") + \
        f", {found['since']} to {found['until']} (UTC)"
    if not found["releases"]:
        return head + "\n  none recorded (the ledger keeps what ended since the stack's ledger was deployed)"
    rows = []
    for e in found["releases"]:
        approver = e["approved_by"]
        approved = "-" if not approver else ("rejected by " if approver.get("decision") == "reject" else "") + _who(approver)
        rows.append([e["started"][:16].replace("T", " "), e["env"] or "-", e["action"], e["version"] or "-",
                     _who(e["started_by"]), approved, render.duration(e["duration_seconds"]),
                     e["outcome"] + (f": {e['why']}" if e.get("why") else "")])
    return head + "\n" + render.table(["STARTED", "ENV", "ACTION", "VERSION", "STARTED BY", "APPROVED BY", "TOOK",
                                       "OUTCOME"], rows)


def stats_text(found: dict[str, Any]) -> str:
    s = found["stats"]
    restore, lead = s["time_to_restore_seconds"], s["start_to_all_traffic_seconds"]
    rate = "-" if s["change_failure_rate"] is None else f"{100 * s['change_failure_rate']:.0f} %"
    lines = [f"{found['service']}" + (f" in env {found['env']}" if found["env"] else "") +
             f", {s['since']} to {s['until']} ({s['days']} days, UTC)",
             f"  deploy frequency          {s['succeeded']} succeeded releases: {s['deploy_frequency']['per_week']} a week "
             f"({s['deploy_frequency']['per_day']} a day)",
             f"  change failure rate       {rate} ({len(s['change_failures'])} of the releases that moved public traffic "
             "failed after it moved, or were rolled back)",
             "  time to restore           " + ("-" if not restore else
                                              f"median {render.duration(restore['median'])}, longest {render.duration(restore['max'])}"),
             "  start to all traffic      " + ("-" if not lead else
                                              f"median {render.duration(lead['median'])}, longest {render.duration(lead['max'])}")]
    lines += [f"  {what:<25} {count}" for what, count in s["outcomes"].items()]
    return "\n".join(lines)
