"""A real release's history read through the steps' result types: each state's output is the JSON
its type writes, and the line for people names what each step did."""
from __future__ import annotations

import pytest

from cutover.operations import executions as operations
from cutover.definition import states
from cutover_steps import results

pytestmark = pytest.mark.e2e


def test_each_step_of_a_release_says_what_it_did_through_its_result_type(demo):
    # Given a release of version 2 over the live version 1
    description = demo.release("2")
    assert description["status"] == "SUCCEEDED"
    events = operations.history(demo.sfn, description["executionArn"])
    told = {}
    for state, output in operations.step_results(events):
        # Then every Task state's output reads as its step's type and writes back the same JSON
        result = states.read(state, output)
        assert isinstance(result, states.tasks()[state].result), state
        assert result.to_json() == output, state
        told[state] = result.describe()
    # And the lines name what each step found and changed
    by_type = operations.latest_by_type(events)
    line = {type(r): r.describe() for r in by_type.values()}
    assert line[results.TargetGroups] == "demo-web-2 created"
    assert line[results.Service].startswith("web-2 created (desired 2); autoscaling 2..6 registered")
    assert line[results.ApprovalAnswer] == "approved by test-operator"
    assert line[results.Traffic].startswith("100% to new - www: demo-web-2 100%")
    assert line[results.Retired] == "web-1: scalable target min 2 max 6 parked at 0..0, scaling suspended; desired count 2 -> 0"
    assert line[results.CleanedUp] == "nothing to delete (0 obsolete found by their tags); web-1 marked obsolete"
    assert line[results.Recorded] == "nothing -> 2"  # version 1 was live before Cutover recorded anything
    assert set(told.values()) >= set(line.values())
