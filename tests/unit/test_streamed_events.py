"""The events of a followed release, shown as text or as JSON Lines: the same facts either way."""
from __future__ import annotations

import datetime as dt
import io
import json

from cutover.output.progress import Follower
from cutover.output.streaming import JsonLines, TextLines

NAME = "arn:aws:states:us-east-1:123456789012:execution:cutover-release:web-2"
T0 = dt.datetime(2026, 11, 27, 10, 0, 0, tzinfo=dt.UTC)


def _state(kind: str, name: str, seconds: int, output: dict | None = None, error: tuple[str, str] | None = None) -> list[dict]:
    at = T0 + dt.timedelta(seconds=seconds)
    found = [{"type": f"{kind}StateEntered", "timestamp": at, "stateEnteredEventDetails": {"name": name}}]
    if output is not None:
        found.append({"type": "LambdaFunctionSucceeded", "timestamp": at,
                      "lambdaFunctionSucceededEventDetails": {"output": json.dumps(output)}})
    if error is not None:
        found.append({"type": "LambdaFunctionFailed", "timestamp": at,
                      "lambdaFunctionFailedEventDetails": {"error": error[0], "cause": error[1]}})
    found.append({"type": f"{kind}StateExited", "timestamp": at + dt.timedelta(seconds=1),
                  "stateExitedEventDetails": {"name": name}})
    return found


class EndedRelease:
    """What Step Functions answers about an execution that has ended: its status and its history."""

    def __init__(self, events: list[dict]):
        self.events = events

    def describe_execution(self, executionArn: str) -> dict:
        return {"executionArn": executionArn, "name": "web-2", "status": "FAILED"}

    def get_execution_history(self, executionArn: str, **_: str) -> dict:
        return {"events": self.events}


HISTORY = EndedRelease([
    *_state("Task", "Create the target groups", 0, {"target_groups": [{"name": "demo-web-2", "changed": "created"}]}),
    *_state("Task", "Check the new version's health", 2,
            {"healthy": False, "counts": [{"target_group": "demo-web-2", "healthy": 1, "required": 2}]}),
    *_state("Choice", "Is the new version healthy?", 3),
    *_state("Task", "Create the ECS service and its autoscaling", 4,
            error=("ServiceConflict", "service web-2 exists and was not made by this release")),
])


def _follow(sink) -> None:
    Follower(HISTORY, NAME, sink, poll=0).run(timeout=0)


def test_a_followed_release_says_the_same_as_text_and_as_json_lines():
    # Given an ended release, followed once for people and once for a script
    text, lines = io.StringIO(), io.StringIO()
    _follow(TextLines(text, tty=False))
    _follow(JsonLines(lines))
    # Then every line of JSON is a document of its own, one per state the text shows (choices are plumbing)
    events = [json.loads(line) for line in lines.getvalue().splitlines()]
    shown = text.getvalue().splitlines()
    assert [e["event"] for e in events] == ["state"] * 3 == ["state"] * len(shown)
    # And each says what its text line says: the state, when, what the step did or its error
    for event, line in zip(events, shown):
        assert event["execution"] == "web-2"
        assert event["state"] in line and event["description"] in line and event["description"]
        assert event["entered"].startswith("2026-11-27T10:00:0") and event["entered"][11:19] in line
    assert [e["description"] for e in events] == [
        "demo-web-2 created", "demo-web-2 1/2 healthy", "ServiceConflict: service web-2 exists and was not made by this release"]
    assert events[2]["error"] == {"error": "ServiceConflict", "cause": "service web-2 exists and was not made by this release"}
    assert events[0]["result"] == {"target_groups": [{"name": "demo-web-2", "changed": "created"}]}


def test_a_terminal_status_line_is_rewritten_in_place_and_cleared_before_the_next_line():
    from cutover.output.reports import Event

    # Given a terminal
    out = io.StringIO()
    show = TextLines(out, tty=True)
    # When two status lines come, then a state line
    show(Event("progress", {}, "... Check the new version's health - 1/2 healthy", passing=True))
    show(Event("progress", {}, "... Check the new version's health - 2/2 healthy", passing=True))
    show(Event("state", {}, "10:00:02.0  Check the new version's health"))
    # Then the status was redrawn on its own line, and cleared before the state line was written
    assert out.getvalue() == ("\r\033[K... Check the new version's health - 1/2 healthy"
                              "\r\033[K... Check the new version's health - 2/2 healthy"
                              "\r\033[K10:00:02.0  Check the new version's health\n")
