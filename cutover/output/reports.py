"""What a command found, before it is shown: the document `--output json` prints (its shapes are in
docs/output.md), the text for people, and the exit it ends with. A command builds one; the command
line renders it as the user asked. The reports of an execution (`status`, `history`) are built here.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cutover_steps.decisions import stopping
from cutover_steps.results import ApprovalAnswer, Check
from cutover_steps.decisions.stop_record import StopRecord, stop_of
from cutover_steps.decisions.unfinished import line

from cutover import exits
from cutover.operations import executions as operations
from cutover.output import render
from cutover.definition import states
from cutover.aws import step_functions
from cutover.output.masking import masked
from cutover.output.status_line import status_line

ENDED_BADLY = ("FAILED", "TIMED_OUT", "ABORTED")


@dataclass
class Report:
    data: Any
    text: Callable[[], str]
    exit: exits.Exit = exits.OK


@dataclass
class Event:
    """One thing a streaming command (`start --wait`, `demo`, `sandbox up`) saw happen, shown as it
    happens: one line of JSON Lines for scripts (`{"event": kind, …data}`) or its text for people.
    A `passing` event is a status line that a terminal rewrites in place."""
    kind: str
    data: dict[str, Any]
    text: str
    passing: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"event": self.kind, **self.data}

    @classmethod
    def of(cls, kind: str, report: Report) -> Event:
        """A command's report as the last event of its stream."""
        return cls(kind, report.data, report.text())


def warning_lines(warnings: list[dict[str, str]], prefix: str = "  warning   ") -> list[str]:
    lines = [f"{prefix}{line(warning)}" for warning in warnings]
    if warnings:
        lines.append("  Public traffic is on the new version; the next release of this service finishes this work.")
    return lines


def release_of(description: dict[str, Any]) -> dict[str, Any]:
    """What the execution releases, from its input."""
    try:
        given = json.loads(description.get("input") or "{}")
    except ValueError:
        given = {}
    config = given.get("config") if isinstance(given.get("config"), dict) else {}
    return {
        "action": given.get("action", "release"), "env": given.get("env"),
        "service": given.get("service") or config.get("service"), "version": given.get("version"),
        "image": given.get("image"), "config_uri": given.get("config_uri"),
        "started_by": given.get("started_by"),
    }


def status(sfn, arn: str) -> Report:
    """Where a release is now; it ends FAILED when the release did."""
    description = step_functions.describe(sfn, arn)
    events = operations.history(sfn, arn)
    now = description["status"]
    running = now == "RUNNING"
    checks = operations.check_results(events)
    data = {
        "executionArn": arn, "name": description["name"], "status": now, **release_of(description),
        "started": description.get("startDate"), "stopped": description.get("stopDate"),
        "current_state": operations.current_state(events) if running else None,
        "progress": status_line(events, now) if running else None,
        # Only once the request was sent: an answer before that would be refused (no token to answer yet).
        "waiting_for_approval": running and operations.pending_approval(events)[0] is not None,
        "approval_wait": operations.approval_wait(events) if running else None,
        "approval": operations.approval_answer(events), "analysis_answer": operations.analysis_answer(events),
        "failure": operations.execution_failure(events),
        "warnings": operations.unfinished_work(description), "undo": stopping.what_undo_did(now, events),
        "undo_run": undo_run(sfn, arn) if stopping.undo_needed(now, events) else None,
        "stop": stop_json(events),
        "checks": [check.to_json() for check in checks],
        "analysis": operations.analysis_scorecard(events),
    }
    return Report(data, lambda: status_text(data, checks), exits.FAILED if now in ENDED_BADLY else exits.OK)


def undo_run(sfn, arn: str) -> dict[str, Any] | None:
    """What the undo's own execution (named after the release's) did: done, still running or failed."""
    undo = step_functions.describe_if_any(sfn, stopping.undo_execution_arn(arn), step_functions.NO_UNDO)
    if undo is None:
        return {"state": "not started", "status": None,
                "did": "no undo has run yet (the status change may be late; the stack's sweep starts it)"}
    finished = (json.loads(undo.get("output") or "{}").get("finished") or {})
    if undo["status"] == "RUNNING":
        return {"state": "still running", "status": "RUNNING", "did": "waiting until nothing of the release can still "
                "run, then undoing it", "undo_execution": undo["executionArn"]}
    if undo["status"] == "SUCCEEDED":
        state = "done" if finished.get("fully_undone", True) else "incomplete"
        return {"state": state, "status": "SUCCEEDED", "did": finished.get("undone") or finished.get("found") or "",
                "undo_execution": undo["executionArn"]}
    return {"state": "failed", "status": undo["status"], "undo_execution": undo["executionArn"],
            "did": undo.get("cause") or "the undo failed; see its execution's history"}


def stopped(sfn, description: dict[str, Any], record: StopRecord) -> Report:
    """What `cutover stop` did: the release stopped, who and why, and what its undo will do."""
    arn = description["executionArn"]
    events = operations.history(sfn, arn)
    data = {"executionArn": arn, "name": description["name"], "status": description["status"], "stop": record.to_json(),
            "undo": stopping.what_undo_did(description["status"], events), "undo_run": undo_run(sfn, arn)}

    def text() -> str:
        return "\n".join([f"Stopped {data['name']} as {record.by}: {record.reason}",
                           *([f"  undo      {data['undo']}"] if data["undo"] else []),
                           f"  follow it:  cutover status {data['name']}"])

    return Report(data, text)


def stop_json(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Who stopped the release with `cutover stop` and why, from its history; None otherwise."""
    record = stop_of(events)
    return record.to_json() if record else None


def stop_and_undo(sfn, arn: str, status: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    """For `start --wait` of a release stopped (or timed out): who stopped it and why, and what its undo did so far."""
    if not stopping.undo_needed(status, events):
        return {"stop": None, "undo_run": None}
    return {"stop": stop_json(events), "undo_run": undo_run(sfn, arn)}


def undo_run_lines(report: dict[str, Any], indent: str = "  ") -> list[str]:
    """What the undo of a stopped release did, in words, for `start --wait` and `history` (whose
    failure line says who stopped it and why)."""
    run = report.get("undo_run")
    if not run:
        return []
    later = run["state"] in ("not started", "still running") and report.get("name")
    return [f"{indent}undo {run['state']}: {run['did']}" + (f" (cutover status {report['name']} says when it ends)" if later else "")]


def status_text(report: dict[str, Any], checks: list[Check]) -> str:
    name, failure = report["name"], report["failure"]
    what = f"{report['action']} {report['service'] or '?'} {report['version'] or ''}".rstrip()
    took = render.seconds_between(report["started"], report["stopped"])
    lines = [f"{name}: {report['status']}" + (" with warnings" if report["warnings"] else ""),
             f"  release   {what} to env {report['env']}" + (f" (image {report['image']})" if report["image"] else ""),
             f"  started   {render.clock(report['started'])} UTC" + (f", took {render.duration(took)}" if took is not None else "")
             + (f", by {starter_text(report['started_by'])}" if report.get("started_by") else "")]
    if report["status"] == "RUNNING":
        lines.append(f"  now       {report['progress']}")
    lines += [f"  check     {check.describe()} ({check.phase})" for check in checks]
    if report.get("analysis"):
        lines += analysis_lines(report["analysis"])
    if report["approval"]:
        lines.append(f"  approval  {ApprovalAnswer.from_json(report['approval']).describe()}")
    if report.get("analysis_answer"):
        lines.append(f"  answer    {ApprovalAnswer.from_json(report['analysis_answer']).describe()} "
                     "(whether the new version goes on, the analysis inconclusive)")
    wait = report["approval_wait"]
    if wait and wait.get("question"):
        lines += [f"  waiting   {answer_wait_words(wait)}", *answer_commands(name, "  ")]
    elif wait:
        lines.append(f"  waiting   for approval {render.approval_wait(wait, time.time())}; then the prepared version "
                     "is torn down")
        lines += [f"  try it    {u['url']} (route {u['route']})" for u in wait["preparing_urls"]]
    if report["waiting_for_approval"] and not (wait and wait.get("question")):
        lines += [f"  approve   cutover approve {name}", f"  reject    cutover reject {name} --reason '...'"]
    if report.get("stop"):
        lines.append(f"  stopped   by {report['stop']['by']}: {report['stop']['reason']}")
    elif failure:
        lines += [f"  error     {failure['error']}", f"  cause     {failure['cause']}"]
    if report["undo"]:
        lines.append(f"  undo      {report['undo']}")
    if report.get("undo_run"):
        lines.append(f"  undone    {report['undo_run']['state']}: {report['undo_run']['did']}")
    lines += warning_lines(report["warnings"])
    lines.append(f"  history   cutover history {name}")
    return "\n".join(lines)


def starter_text(started_by: dict[str, Any]) -> str:
    identity = started_by.get("identity")
    return f"{started_by.get('name')}" + (f" ({identity})" if identity and identity != started_by.get("name") else "")


def answer_wait_words(wait: dict[str, Any]) -> str:
    """The wait for an operator's answer after an inconclusive analysis: since, until, what was asked."""
    return (f"for an operator's answer {render.approval_wait(wait, time.time())}: "
            f"{wait.get('asked') or 'the canary analysis is inconclusive'}; with no answer by then traffic is rolled back")


def answer_commands(name: str, indent: str) -> list[str]:
    """The answers to the question of an inconclusive analysis, and what each does."""
    return [f"{indent}approve   cutover approve {name}   (the new version goes on)",
            f"{indent}reject    cutover reject {name} --reason '...'   (traffic is rolled back to the old version)"]


def analysis_lines(scorecard: dict[str, Any]) -> list[str]:
    """The canary judge's scorecard: its verdict, then a line per metric with both sides and the sample."""
    def value(v: Any) -> str:
        return "-" if v is None else f"{v:.4g}"

    at = f" at {scorecard['percent']}%" if scorecard.get("percent") is not None else ""
    lines = [f"  analysis  {scorecard.get('verdict')}{at}"]
    for card in scorecard.get("metrics") or []:
        lines.append(f"    {card['name']:<10} {card['verdict']:<12} new {value(card.get('new'))} ({card.get('new_requests')} req)"
                     f" vs old {value(card.get('old'))} ({card.get('old_requests')} req): {card['why']}")
    return lines


def what_it_did(entry: dict[str, Any]) -> str:
    """A state of the timeline in one line: its error, or what its step found and changed."""
    return render.error_text(entry["error"]) if entry["error"] else states.describe(entry["state"], entry["result"])


def history(sfn, arn: str, *, choices: bool = False) -> Report:
    """The release's timeline: each state, when, how long, what it found and changed."""
    description = step_functions.describe(sfn, arn)
    events = operations.history(sfn, arn)
    data = {"executionArn": arn, "status": description["status"], "states": masked(operations.timeline(events)),
            "failure": operations.execution_failure(events), "warnings": operations.unfinished_work(description),
            "undo": stopping.what_undo_did(description["status"], events), "stop": stop_json(events),
            "undo_run": undo_run(sfn, arn) if stopping.undo_needed(description["status"], events) else None}
    return Report(data, lambda: history_text(data, description, choices))


def history_text(report: dict[str, Any], description: dict[str, Any], choices: bool) -> str:
    started, now = description.get("startDate"), report["status"]
    lines = [f"{description['name']}: {now}  (started {started:%Y-%m-%d %H:%M:%S} UTC)" if started else description["name"]]
    rows = []
    for entry in report["states"]:
        if entry["type"] == "Choice" and not choices:
            continue
        took = render.seconds_between(entry["entered"], entry["exited"])
        rows.append([entry["state"], render.clock(entry["entered"]), render.duration(took) if entry["exited"] else "running",
                     what_it_did(entry)])
    lines.append(render.table(["STATE", "STARTED", "DURATION", "WHAT IT FOUND AND CHANGED"], rows))
    if report["failure"]:
        lines.append(f"\n{report['failure']['status']}: {render.error_text(report['failure'])}")
    if report["undo"]:
        lines.append(f"Undo of the {now.lower()} release: {report['undo']}")
    lines += undo_run_lines({**report, "name": description["name"]}, indent="")
    if report["warnings"]:
        lines += [f"\n{now} with warnings:", *warning_lines(report["warnings"], prefix="  - ")]
    return "\n".join(lines)
