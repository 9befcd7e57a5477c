"""Text for people: durations, tables, and a one-line account of what each step found and changed."""
from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterable
from typing import Any


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.1f} s"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def seconds_between(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds()


def clock(moment: dt.datetime | None) -> str:
    """HH:MM:SS.t in UTC; the table header says the date."""
    if moment is None:
        return "-"
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 100000}"


def table(headers: list[str], rows: Iterable[list[str]], width: int | None = None) -> str:
    """Aligned columns; the last column wraps to the terminal (or CI log) width."""
    rows = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers[:-1])]
    indent = sum(widths) + 2 * len(widths)
    width = width or shutil.get_terminal_size((160, 24)).columns
    room = max(30, width - indent)
    lines = []
    for row in [headers] + rows:
        head = "".join(cell.ljust(w + 2) for cell, w in zip(row, widths))
        last = _wrap(row[-1], room)
        lines.append((head + last[0]).rstrip())
        lines.extend((" " * indent + more).rstrip() for more in last[1:])
    return "\n".join(lines)


def _wrap(text: str, room: int) -> list[str]:
    words, lines, line = text.split(" "), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > room:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return lines + [line] if line or not lines else lines


def target_group(arn: str) -> str:
    """The target group's name, from its ARN (…:targetgroup/NAME/ID)."""
    return arn.split(":targetgroup/", 1)[-1].split("/")[0] if ":targetgroup/" in arn else arn


def weights(forward: dict[str, int]) -> str:
    """Forward weights as percentages per target group name, largest first."""
    total = sum(forward.values()) or 1
    shares = sorted(forward.items(), key=lambda item: -item[1])
    return ", ".join(f"{target_group(arn)} {round(100 * w / total)}%" for arn, w in shares)


def _changed(item: dict[str, Any], default: str = "unchanged") -> str:
    return item.get("changed") or item.get("found") or item.get("skipped") or default


def check(result: dict[str, Any]) -> str:
    """One verification check's result: `smoke passed: …` or `smoke FAILED: …`."""
    return f"{result['name']} {'passed' if result['passed'] else 'FAILED'}: {result['message']}"


def checks(found: list[dict[str, Any]]) -> str:
    return "; ".join(check(c) for c in found)


def describe_result(result: Any) -> str:
    """What a step found and changed, in one line, from the small result it returned."""
    if not isinstance(result, dict):
        return ""
    if "decision" in result:
        verb = "approved" if result["decision"] == "approve" else "rejected"
        why = result.get("comment") or result.get("reason")
        return f"{verb} by {result.get('by', '?')}" + (f": {why}" if why else "")
    if "MessageId" in result:
        left = result.get("warnings")
        return "notification sent" + (f", with {left} warning(s)" if left else "")
    if "summary" in result and "ecs_service" in result:
        summary = result["summary"]
        groups = ", ".join(r["target_group"] for r in summary.get("routes", []))
        return f"plan: {summary.get('action')} {summary.get('service')} {summary.get('version')}; service {result['ecs_service']}; target groups {groups}"
    if "old_services" in result and "Cause" in result:
        restored = "; ".join(f"{o['ecs_service']} {_changed(o)}" for o in result["old_services"])
        return f"after {result.get('Error')}: " + (restored or "no old version to bring back")
    if "undone" in result and "Cause" in result:
        cause = str(result["Cause"])
        return f"{result.get('Error')}: {cause}"
    if "lock" in result:
        return f"lock {_changed(result)}"
    if isinstance(result.get("target_groups"), list):
        return "; ".join(f"{g.get('name')} {_changed(g)}" for g in result["target_groups"])
    if "task_definition" in result:
        return f"{result['task_definition'].rsplit('/', 1)[-1]} {_changed(result)}"
    if "desired_count" in result and "service" in result:
        text = f"{result['service']} {_changed(result)} (desired {result['desired_count']})"
        scaling = result.get("autoscaling") or {}
        if scaling.get("autoscaling"):
            text += f"; autoscaling {scaling['autoscaling'].get('min')}..{scaling['autoscaling'].get('max')} {_changed(scaling)}"
        return text
    if "counts" in result:
        text = ", ".join(f"{c['target_group']} {c['healthy']}/{c['required']} healthy" for c in result["counts"])
        return text + (" - timed out" if result.get("timed_out") else "")
    if "verification" in result and "phase" in result:
        return f"{len(result['verification'])} check(s) on the {result['phase']} version: {checks(result['verification'])}"
    if "watched" in result:
        alarms = f"{len(result['watched'])} alarm(s) OK" if result["watched"] else "no alarms to watch"
        if result.get("missing"):
            alarms += f"; missing: {', '.join(result['missing'])}"
        if result.get("verification"):
            alarms += f"; {checks(result['verification'])}"
        if "remaining_seconds" in result:
            alarms += f"; {result['remaining_seconds']} s of hold left"
        return alarms
    if "old_services" in result and "routes" in result:
        parts = [f"{r['route']} -> {weights(r['forward']) or 'nothing'}" for r in result["routes"]]
        return "; ".join(parts + list(result.get("notes") or []))
    if "percent" in result and "rules" in result:
        parts = [f"{r['route']}: {weights(r['weights'])}" + ("" if r.get("changed") else " (already)") for r in result["rules"]]
        hold = f", hold {result['hold_seconds']} s" if result.get("hold_seconds") else ""
        hold += f", bake {result['bake_seconds']} s with the old version warm" if result.get("bake_seconds") else ""
        return f"{result['percent']}% to new{hold} - " + "; ".join(parts)
    if "rules" in result:
        return "; ".join(f"{r.get('route')}: {_changed(r)}" for r in result["rules"])
    if "retired" in result:
        if not result["retired"]:
            return result.get("found", "nothing to retire")
        return "; ".join(f"{r['ecs_service']}: {_changed(r)}" for r in result["retired"])
    if "obsolete_found" in result:
        deleted = [f"{d['ecs_service']} {_changed(d)}" + (f" with {', '.join(d['target_groups'])}" if d.get("target_groups") else "")
                   + (f", revision {d['task_definition']['revision'].rsplit('/', 1)[-1]} {_changed(d['task_definition'])}"
                      if d.get("task_definition") else "")
                   for d in result.get("deleted", [])]
        kept = [d["ecs_service"] for d in result.get("kept", [])]
        text = "; ".join(deleted) or "nothing to delete"
        return text + (f"; kept {', '.join(kept)}" if kept else "") + f" ({result['obsolete_found']} obsolete found by their tags)"
    if "marked" in result:
        return "; ".join(f"{m['ecs_service']} {_changed(m)}" for m in result["marked"]) or result.get("found", "")
    if "changed" in result or "found" in result:
        return _changed(result)
    return ""


def error_text(error: dict[str, Any] | None) -> str:
    if not error:
        return ""
    cause = (error.get("cause") or "").strip()
    return f"{error.get('error') or 'error'}" + (f": {cause}" if cause else "")
