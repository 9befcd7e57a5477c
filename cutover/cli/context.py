"""What every command gets: its options, where it writes (a report, or a stream of events), and a
connection made when first needed."""
from __future__ import annotations

import argparse
import getpass
import json
import os
from typing import Any, TextIO

from cutover.aws import lookups
from cutover.aws.connection import Connection, connect
from cutover.exits import UsageError
from cutover.output import reports, streaming


class Context:
    """What every command gets: its options, where to write, and a lazily made connection."""

    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO):
        self.args, self.out, self.err = args, out, err
        self._connection: Connection | None = None
        self._events: streaming.JsonLines | streaming.TextLines | None = None

    @property
    def json(self) -> bool:
        return getattr(self.args, "output", "text") == "json"

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            a = self.args
            self._connection = connect(profile=a.profile, region=a.region, endpoint_url=a.endpoint_url,
                                       state_machine_arn=a.state_machine_arn, stack_name=a.stack_name)
        return self._connection

    def client(self, name: str) -> Any:
        """An AWS client of the connection, made only when a command needs one."""
        return self.connection.client(name)

    def note(self, text: str) -> None:
        """A line for people on stderr that does not change how the command ends."""
        self.err.write(f"note: {text}\n")

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def show(self, report: reports.Report) -> int:
        """A command's report, as JSON for scripts or as text for people; its exit code."""
        if self.json:
            self.emit(report.data)
        else:
            text = report.text()
            if text:
                self.say(text)
        return report.exit.code

    def emit(self, data: Any) -> None:
        self.out.write(json.dumps(data, indent=2, default=streaming.json_default) + "\n")
        self.out.flush()

    def stream(self, event: reports.Event) -> None:
        """One event of a streaming command, as it happens: a line of JSON Lines, or its text."""
        if self._events is None:
            self._events = streaming.JsonLines(self.out) if self.json else streaming.TextLines(self.out)
        self._events(event)

    @property
    def live(self) -> bool:
        """Whether a status line can be rewritten in place (text on a terminal)."""
        return not self.json and self.out.isatty()

    def finish(self, kind: str, report: reports.Report) -> int:
        """A streaming command's report, as the last event of its stream; its exit code."""
        event = reports.Event.of(kind, report)
        if self.json or event.text:
            self.stream(event)
        elif self._events is not None:
            self._events.clear()
        return report.exit.code


def who(args: argparse.Namespace) -> str:
    return getattr(args, "by", None) or os.environ.get("CUTOVER_USER") or os.environ.get("GITHUB_ACTOR") or getpass.getuser()


def env_vars(pairs: list[str]) -> dict[str, str]:
    found = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--env-var {pair!r}: write it as NAME=value")
        found[key] = value
    return found


def caller_identity(ctx: Context) -> str:
    """The ARN AWS knows the caller by (STS GetCallerIdentity): what the audit trusts, unlike --by."""
    return lookups.caller_arn(ctx.connection.client("sts"))
