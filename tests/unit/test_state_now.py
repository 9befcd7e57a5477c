"""Questions about now (which state runs, which answer is waited for) read the newest events only,
and answer as the whole history would."""
from __future__ import annotations

import pytest

from cutover.aws.step_functions import NEWEST_PAGE
from cutover.operations.executions import APPROVAL_STATE, current_state, pending_approval, since_last_state, state_now


class History:
    """GetExecutionHistory as AWS pages it: maxResults, reverseOrder, nextToken; counts the events sent."""

    def __init__(self, events):
        self.events, self.sent = events, 0

    def get_execution_history(self, executionArn, maxResults=100, reverseOrder=False, nextToken=None):
        ordered = self.events[::-1] if reverseOrder else self.events
        start = int(nextToken or 0)
        page = ordered[start:start + maxResults]
        self.sent += len(page)
        more = start + maxResults < len(ordered)
        return {"events": page, **({"nextToken": str(start + maxResults)} if more else {})}


def entered(name):
    return {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": name}}


def exited(name):
    return {"type": "TaskStateExited", "stateExitedEventDetails": {"name": name}}


def other(kind="TaskScheduled"):
    return {"type": kind}


HISTORIES = {
    "a task under way": [entered("Load"), other(), exited("Load"), entered("Wait for approval"), other(), other("TaskSubmitted")],
    "between two states": [entered("Load"), other(), exited("Load")],
    "a wait whose last state entered is pages back": [entered("Load"), exited("Load"), entered("Hold")]
                                                      + [other("LambdaFunctionScheduled")] * (NEWEST_PAGE * 3),
    "a parallel branch ended inside its state": [entered("Both"), entered("Left"), exited("Left"), other()],
    "nothing entered yet": [other("ExecutionStarted")],
}


@pytest.mark.parametrize("events", HISTORIES.values(), ids=HISTORIES.keys())
def test_the_state_now_is_what_the_whole_history_says(events):
    assert state_now(History(events), "arn") == current_state(events)


def test_a_long_history_is_not_read_whole_for_a_question_about_now():
    events = [entered(f"S{n}") if n % 5 == 0 else other() for n in range(1000)] + [entered("Hold"), other()]
    history = History(events)
    assert state_now(history, "arn") == "Hold"
    assert history.sent <= NEWEST_PAGE


def test_the_answer_waited_for_is_found_from_the_newest_events_as_from_the_whole_history():
    token = {"type": "TaskScheduled", "timestamp": 2,
             "taskScheduledEventDetails": {"parameters": '{"Payload": {"task_token": "t-1"}}'}}
    earlier = [event for n in range(NEWEST_PAGE * 2) for event in (entered(f"S{n}"), exited(f"S{n}"))]
    waiting = earlier + [entered(APPROVAL_STATE), token, other("TaskStarted"), {"type": "TaskSubmitted", "timestamp": 3}]
    not_yet = waiting[:-1]
    for events in (waiting, not_yet):
        assert pending_approval(since_last_state(History(events), "arn")) == pending_approval(events)
    assert pending_approval(waiting) == ("t-1", 3)
