"""The fault matrix is generated from the definition: every Lambda state has its cells, a new state
gets them without editing the matrix, and a state no route reaches is an error, not a gap."""
from __future__ import annotations

import copy
import json

import pytest

from chaos import matrix

# The order in which a plain release enters its states (what `chaos.run.baseline` measures);
# here a fixed list, so these unit tests run no release.
PLAIN_RELEASE = [
    "Start the release record", "Load and validate the release", "Lock the service", "Create the target groups",
    "Attach them to the preparing rules", "Register the task definition", "Create the ECS service and its autoscaling",
    "Check the new version's health", "Is the new version healthy?", "Run the checks on the prepared version",
    "Is approval needed?",
    "Wait for an operator's approval", "Was the release approved?", "Re-check health before switching",
    "Is the new version still healthy?", "Check alarms and read the live routes",
    "Shift traffic to the new version", "Is there a hold?", "Watch alarms while traffic holds", "Is the hold over?",
    "Ask an operator whether the new version goes on", "Did the operator let the new version go on?",
    "Note that an operator let the new version go on", "Retire the old version", "Clean up, then mark the old version obsolete",
    "Record the release", "Notify that the release succeeded", "Release the lock", "The release succeeded",
]
CONFIG = {"release": {"traffic_steps": [{"percent": 50, "hold_seconds": 1}, {"percent": 100, "hold_seconds": 0}]}}


def entered(definition):
    return [name for name in PLAIN_RELEASE if name in definition["States"]]


def test_every_lambda_state_of_the_definition_has_a_cell_for_every_fault():
    definition = matrix.load_definition()
    cells = matrix.cells(definition, entered(definition), CONFIG)

    covered = {(c.state, c.fault) for c in cells}
    lambda_states = matrix.lambda_states(definition)
    assert {"Tear down the prepared version", "Roll traffic back to the old version",
            "Release the lock after a failure", "Wait for an operator's approval"} <= set(lambda_states)
    missing = [(state, fault) for state in lambda_states for fault in matrix.FAULTS if (state, fault) not in covered]
    assert missing == []
    # every step of the registry that the definition runs is in the matrix
    assert {c.step for c in cells if c.step} == set(lambda_states.values())


def test_undo_states_are_reached_through_a_catch_of_a_state_a_plain_release_enters():
    definition = matrix.load_definition()
    reach = matrix.routes(definition, entered(definition))

    assert reach["Create the target groups"] == ()
    teardown = reach["Tear down the prepared version"]
    assert len(teardown) == 1 and teardown[0] in PLAIN_RELEASE
    # the traffic's undo is reached through a state that runs once traffic has moved
    rollback = reach["Roll traffic back to the old version"]
    assert len(rollback) == 1 and PLAIN_RELEASE.index(rollback[0]) > PLAIN_RELEASE.index("Shift traffic to the new version")


def test_a_new_state_gets_its_cells_without_editing_the_matrix():
    # Given a definition with one more Lambda state between two existing ones
    definition = copy.deepcopy(matrix.load_definition())
    states = definition["States"]
    live = "Check alarms and read the live routes"
    states["Check alarms again"] = {**copy.deepcopy(states[live]), "Next": states[live]["Next"]}
    states[live]["Next"] = "Check alarms again"
    plain = entered(definition)
    plain.insert(plain.index(live) + 1, "Check alarms again")

    # Then the matrix has a cell for it per fault kind
    cells = matrix.cells(definition, plain, CONFIG)
    assert sorted(c.fault for c in cells if c.state == "Check alarms again") == sorted(matrix.FAULTS)


def test_a_lambda_state_that_no_route_reaches_fails_the_matrix():
    # Given a Lambda state nothing leads to
    definition = copy.deepcopy(matrix.load_definition())
    definition["States"]["Orphan"] = copy.deepcopy(definition["States"]["Record the release"])

    with pytest.raises(ValueError, match="Orphan"):
        matrix.cells(definition, entered(definition), CONFIG)


def test_a_state_running_a_function_the_registry_lacks_is_refused():
    definition = copy.deepcopy(matrix.load_definition())
    definition["States"]["Record the release"]["Resource"] = "${ForgottenFunctionArn}"

    with pytest.raises(KeyError, match="Forgotten"):
        matrix.lambda_states(definition)


def test_the_sample_has_every_step_once_a_stop_an_alarm_and_a_stop_in_time_and_depends_on_the_seed():
    definition = matrix.load_definition()
    cells = matrix.cells(definition, entered(definition), CONFIG)

    chosen = matrix.sample(cells, seed=7)

    assert sorted(c.step for c in chosen if c.step) == sorted(set(matrix.lambda_states(definition).values()))
    stop, alarm, in_time = [c.fault for c in chosen if not c.step]
    assert (stop, alarm) == ("stop", "alarm") and in_time in {"stop_twice", "stop_late", "stop_lost"}
    assert chosen == matrix.sample(cells, seed=7)
    assert any(matrix.sample(cells, seed=s) != chosen for s in range(8, 12))


def test_phases_follow_the_traffic_steps_and_the_bake():
    config = {"release": {"traffic_steps": [{"percent": 10}, {"percent": 50}, {"percent": 100}], "bake_seconds": 60}}
    assert matrix.phases(config) == ["prepared", "traffic 10%", "traffic 50%", "traffic 100%", "bake"]


def test_known_failures_name_why_and_the_sample_leaves_them_out():
    definition = matrix.load_definition()
    plain = entered(definition)
    states = matrix.lambda_states(definition)
    cells = matrix.cells(definition, plain, CONFIG)

    # The definition as it is has none: every state after the switch has a Catch, every Task retries
    # a crash and a timeout of its function (the approval request too), an undo that fails gets a
    # second attempt from outside the flow
    assert {c.id: why for c in cells if (why := matrix.known_failure(c, plain, states))} == {}
    # They are read from the definition: a state after the switch without a Catch, or one that does
    # not retry a crash of its function, is a known failure
    bare = json.loads(json.dumps(definition))
    del bare["States"]["Release the lock"]["Catch"]
    bare["States"]["Wait for an operator's approval"]["Retry"] = bare["States"]["Wait for an operator's approval"]["Retry"][:2]
    known = {c.id: why for c in cells if (why := matrix.known_failure(c, plain, states, bare))}
    assert known["release-the-lock--access-denied"].startswith("the state has no Catch")
    assert "does not retry Crash" in known["wait-for-an-operator-s-approval--crash-before"]
    assert "does not retry Sandbox.Timedout" in known["wait-for-an-operator-s-approval--timeout"]
    assert "wait-for-an-operator-s-approval--throttle" not in known
    assert "release-the-lock-after-a-failure--access-denied" not in known
    chosen = matrix.sample(cells, seed=3, leave_out=lambda c: c.id in known)
    assert not {c.id for c in chosen} & set(known)
    # every step is drawn
    drawable = {c.step for c in cells if c.step and c.id not in known}
    assert {c.step for c in chosen if c.step} == drawable == set(states.values())
