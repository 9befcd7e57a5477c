"""What `cutover stop` records, refused before any AWS call when it cannot be recorded, and read back
from the history as the command line and the notification show it."""
from __future__ import annotations

import pytest

from cutover_steps.decisions.stop_record import CAUSE_MAX, REASON_MAX, STOPPED_BY_OPERATOR, StopRecord, cause_problem, reason_problem, stop_of
from tests.cli.helpers import cutover

IDENTITY = "arn:aws:sts::111122223333:assumed-role/operator/alice"


def _aborted(error, cause) -> list[dict]:
    return [{"type": "ExecutionStarted"}, {"type": "ExecutionAborted", "executionAbortedEventDetails": {"error": error, "cause": cause}}]


def test_a_stop_reads_back_from_its_aborted_event_with_who_and_why():
    record = StopRecord(reason="5xx on the canary — see INC-42", name="alice", identity=IDENTITY)
    found = stop_of(_aborted(STOPPED_BY_OPERATOR, record.cause()))
    assert found == record
    assert found.describe() == f"stopped by alice ({IDENTITY}): 5xx on the canary — see INC-42"
    assert found.to_json() == {"reason": "5xx on the canary — see INC-42", "by": f"alice ({IDENTITY})", "name": "alice",
                               "identity": IDENTITY}


@pytest.mark.parametrize("error, cause", [("Stopped", "stopped from the console"), (None, None),
                                          (STOPPED_BY_OPERATOR, "not json"), (STOPPED_BY_OPERATOR, '{"by": "x"}')])
def test_a_stop_made_some_other_way_records_no_reason_of_ours(error, cause):
    assert stop_of(_aborted(error, cause)) is None


def test_a_missing_empty_or_too_long_reason_is_refused_naming_the_flag():
    assert "--reason: say why" in reason_problem("   ")
    assert "--reason: say why" in reason_problem(None)
    assert f"at most {REASON_MAX}" in reason_problem("x" * (REASON_MAX + 1))
    assert reason_problem("x" * REASON_MAX) is None
    # The longest reason fits StopExecution's cause with any ordinary name and identity
    assert cause_problem(StopRecord("\u00e9" * REASON_MAX, "alice", IDENTITY)) is None
    assert f"at most {CAUSE_MAX}" in cause_problem(StopRecord("x", "a" * CAUSE_MAX, IDENTITY))


@pytest.mark.parametrize("argv, said", [
    (["--reason", ""], "--reason: say why the release is stopped"),
    (["--reason", "   "], "--reason: say why the release is stopped"),
    (["--reason", "x" * (REASON_MAX + 1)], f"at most {REASON_MAX}"),
    ([], "the following arguments are required: --reason"),
])
def test_cutover_stop_refuses_a_bad_reason_before_it_calls_aws(argv, said):
    # An endpoint nobody listens on: any AWS call would end in exit 4, not 2
    result = cutover("stop", "web-2", *argv, "--endpoint-url", "http://127.0.0.1:9", "--region", "us-east-1")
    assert result.code == 2, result.out + result.err
    assert said in result.err
