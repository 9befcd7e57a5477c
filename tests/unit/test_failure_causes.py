"""How a failed release's error and cause are worded by the undo steps."""
from __future__ import annotations

import json

import pytest

from cutover_steps.config.models import DeployConfig
from cutover_steps.plan.models import build_plan
from cutover_steps.steps.tear_down_prepared import what_happened
from tests.unit.test_bad_input import config


def plan(**release):
    data = config()
    data["release"].update(release)
    return build_plan(action="release", env="demo", version="2", image="web:2", environment={},
                      config=DeployConfig.model_validate(data), release_id="r")


def test_a_lambda_error_keeps_its_name_and_message_but_not_its_stack():
    cause = json.dumps({"errorType": "HealthTimeout", "errorMessage": "demo-web-2 0/2 healthy", "stackTrace": ["  File x"]})
    assert what_happened({"Error": "HealthTimeout", "Cause": cause}, plan(), {}) == ("HealthTimeout", "demo-web-2 0/2 healthy")


def test_a_timed_out_approval_is_named_as_such():
    # Given the new version was healthy and no decision came before the heartbeat
    results = {"health": {"healthy": True}}
    error, cause = what_happened({"Error": "States.HeartbeatTimeout", "Cause": ""}, plan(approval={"timeout_seconds": 600}), results)
    assert error == "ApprovalTimedOut"
    assert cause == "nobody approved or rejected 2 in time (heartbeat 540 s, timeout 600 s)"


@pytest.mark.parametrize("failure, error", [
    ({"Error": "States.Timeout", "Cause": ""}, "StepTimedOut"),
    ({"Error": "States.TaskFailed", "Cause": "boom"}, "ReleaseFailed"),
    ({}, "ReleaseFailed"),
])
def test_reserved_error_names_are_not_passed_to_the_fail_state(failure, error):
    # A Fail state may not end with a name starting "States."; the interpreter turns it into States.Runtime
    name, cause = what_happened(failure, plan(), {"health": {"healthy": False}})
    assert name == error
    assert not name.startswith("States.")
    assert cause


@pytest.mark.parametrize("answer, cause", [
    ({"decision": "reject", "by": "alice", "reason": "broken"}, "Rejected by alice: broken"),
    # as the console may send it: no name, no reason
    ({"decision": "reject"}, "Rejected by someone who did not give a name: no reason given"),
    ({"decision": "reject", "by": "bob", "comment": "logo"}, "Rejected by bob: logo"),
    ({"decision": "maybe"}, 'the approval answer {"decision": "maybe"} is neither an approval nor a rejection'),
    ("yes", 'the approval answer "yes" is neither an approval nor a rejection'),
], ids=["complete", "bare", "comment", "unknown-decision", "not-an-object"])
def test_a_rejection_says_who_and_why_from_the_answer_as_sent(answer, cause):
    failure = {"Error": "ApprovalRejected", "Cause": "the release was not approved"}
    results = {"health": {"healthy": True}, "approval": answer}
    error, text = what_happened(failure, plan(), results)
    assert error == "ApprovalRejected"
    assert text.startswith(cause)
