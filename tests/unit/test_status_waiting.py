"""`status --output json`: `waiting_for_approval` is true only once an answer can be taken, as
`approval_wait` says; a script that approves when it reads true is not refused."""
from __future__ import annotations

import datetime as dt
import json

from cutover.operations.executions import APPROVAL_STATE
from cutover.output import reports


class Sfn:
    def __init__(self, events):
        self.events = events

    def describe_execution(self, executionArn):
        return {"executionArn": executionArn, "name": "web-2", "status": "RUNNING", "startDate": None,
                "input": json.dumps({"env": "demo", "version": "2"})}

    def get_execution_history(self, executionArn, maxResults=100, reverseOrder=False, nextToken=None):
        return {"events": self.events[::-1] if reverseOrder else list(self.events)}


SENT = dt.datetime(2026, 12, 7, 10, 2, tzinfo=dt.timezone.utc)
ENTERED = {"type": "TaskStateEntered", "timestamp": SENT, "stateEnteredEventDetails": {"name": APPROVAL_STATE}}
SCHEDULED = {"type": "TaskScheduled", "timestamp": SENT,
             "taskScheduledEventDetails": {"parameters": json.dumps({"Payload": {"task_token": "t-1"}})}}
SUBMITTED = {"type": "TaskSubmitted", "timestamp": SENT}


def test_a_release_whose_approval_request_is_not_sent_yet_is_not_waiting_for_approval():
    report = reports.status(Sfn([ENTERED, SCHEDULED]), "arn:aws:states:us-east-1:1:execution:m:web-2").data
    assert report["current_state"] == APPROVAL_STATE
    assert report["waiting_for_approval"] is False and report["approval_wait"] is None


def test_once_the_request_is_sent_it_waits_for_approval():
    status = reports.status(Sfn([ENTERED, SCHEDULED, SUBMITTED]), "arn:aws:states:us-east-1:1:execution:m:web-2")
    assert status.data["waiting_for_approval"] is True and status.data["approval_wait"]["since"] == SENT
    # And the text says how to answer
    assert "cutover approve web-2" in status.text()
