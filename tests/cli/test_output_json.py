"""`--output json`: one document on stdout per command, errors included, never a stack trace."""
from __future__ import annotations

import json
import re
from pathlib import Path

from cutover import ROOT
from cutover.definition import diagram
from cutover.operations import executions as operations
from cutover.cli.main import ERROR_CODES
from cutover.cli.parser import build_parser
from tests.cli.helpers import cutover

DOC = Path(ROOT, "docs", "output.md")


def _error_of(result) -> dict:
    document = json.loads(result.out)
    assert set(document) == {"error"} and set(document["error"]) == {"code", "message", "exit_code"}
    assert document["error"]["exit_code"] == result.code
    assert "Traceback" not in result.out + result.err
    return document["error"]


def test_a_usage_error_is_a_json_error_on_stdout():
    result = cutover("status", "--output", "json")
    assert result.code == 2
    assert _error_of(result)["code"] == "invalid_input"
    assert "the following arguments are required: EXECUTION" in _error_of(result)["message"]


def test_an_unreachable_endpoint_is_an_aws_error(monkeypatch):
    monkeypatch.delenv("CUTOVER_STATE_MACHINE_ARN", raising=False)
    result = cutover("status", "web-2", "--output", "json", "--endpoint-url", "http://127.0.0.1:9")
    assert result.code == 4
    error = _error_of(result)
    assert error["code"] == "aws_error" and "127.0.0.1:9" in error["message"]


def test_a_bug_is_reported_in_one_line_without_a_stack_trace(monkeypatch):
    def broken(path):
        raise KeyError("States")

    monkeypatch.setattr(diagram, "mermaid", broken)
    result = cutover("diagram", "--output", "json")
    assert result.code == 1
    assert _error_of(result)["code"] == "internal_error"
    assert "KeyError" in result.err and "Traceback" not in result.err


def test_diagram_as_json_carries_the_flowchart():
    document = json.loads(cutover("diagram", "--output", "json").out)
    assert document["mermaid"].startswith("flowchart") and document["definition"].endswith("release.asl.json")


def test_a_failed_steps_error_shows_its_message_not_the_lambda_report():
    # Given a step that failed in Lambda: its cause is Lambda's JSON report, stack trace included
    report = {"errorMessage": "target group demo-web-2 is in use", "errorType": "TargetGroupConflict",
              "stackTrace": ['  File "/var/task/cutover_steps/steps/create_target_groups.py", line 40, in create\n']}
    events = [
        {"type": "TaskStateEntered", "timestamp": 1, "stateEnteredEventDetails": {"name": "Create the target groups"}},
        {"type": "LambdaFunctionFailed", "timestamp": 2,
         "lambdaFunctionFailedEventDetails": {"error": "TargetGroupConflict", "cause": json.dumps(report)}},
    ]
    # When the history is read
    (entry,) = operations.timeline(events)
    # Then the error says what happened in words
    assert entry["error"] == {"error": "TargetGroupConflict", "cause": "target group demo-web-2 is in use"}


def test_every_command_has_its_json_shape_documented():
    text = DOC.read_text()
    parser = build_parser()
    commands = next(a for a in parser._subparsers._group_actions if a.dest == "command").choices
    documented = set(re.findall(r"^### `cutover ([a-z -]+?)`", text, re.MULTILINE))
    assert {c if c != "sandbox" else "sandbox up" for c in commands} <= documented
    assert all(f'"{code}"' in text for code in ERROR_CODES.values())
