"""Where the events of a streaming command (`start --wait`, `demo`, `sandbox up`) go: lines of text
for people, where a terminal rewrites the status line in place, or JSON Lines for scripts, one
document per event. The command emits the same events either way."""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from typing import Any, TextIO

from cutover.output.reports import Event

Emit = Callable[[Event], None]


def json_default(value: Any) -> Any:
    """Times as ISO 8601; anything else JSON cannot say, as its text."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


class JsonLines:
    """Each event as one JSON document on its own line, written as it happens."""

    def __init__(self, out: TextIO):
        self.out = out

    def __call__(self, event: Event) -> None:
        self.out.write(json.dumps(event.to_json(), default=json_default) + "\n")
        self.out.flush()


class TextLines:
    """Each event's text; on a terminal a status line stays at the bottom, rewritten in place."""

    def __init__(self, out: TextIO, tty: bool | None = None):
        self.out = out
        self.tty = out.isatty() if tty is None else tty
        self._status_shown = False

    def __call__(self, event: Event) -> None:
        if event.passing and self.tty:
            width = max(20, shutil.get_terminal_size((100, 24)).columns - 1)
            self.out.write("\r\033[K" + event.text[:width])
            self._status_shown = True
        else:
            self.clear()
            self.out.write(event.text + "\n")
        self.out.flush()

    def clear(self) -> None:
        """Take the status line away (before a line, or when the command ends)."""
        if self._status_shown:
            self.out.write("\r\033[K")
            self._status_shown = False
