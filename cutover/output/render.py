"""Text for people: durations, times, tables, weights and errors. What each step found and changed is
said by its result type (`cutover_steps.results`)."""
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


def error_text(error: dict[str, Any] | None) -> str:
    if not error:
        return ""
    cause = (error.get("cause") or "").strip()
    return f"{error.get('error') or 'error'}" + (f": {cause}" if cause else "")


def approval_wait(wait: dict[str, Any], now: float) -> str:
    """`since 04:12 UTC (waited 5 min), until 2026-12-08 04:12 UTC (23 h 55 min left)`, to the minute,
    so that a log that repeats it shows a new line only when it says something new."""
    since, until = wait["since"].astimezone(dt.UTC), wait["until"]
    waited = max(0, round((now - since.timestamp()) / 60)) * 60
    text = f"since {since:%H:%M} UTC (waited {duration(waited) if waited else 'under a minute'})"
    if until is not None:
        left = max(0, round((until.timestamp() - now) / 60)) * 60
        text += f", until {until.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC ({duration(left)} left)"
    return text
