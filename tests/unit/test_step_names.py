"""One name per step: the registry ties each step to the definition's states and to its result type,
and nothing else in the command line or the fault matrix spells a state name."""
from __future__ import annotations

import pathlib

import pytest

from cutover import ROOT
from cutover.definition import states
from cutover_steps import registry, results
from cutover_steps.decisions import unfinished
from cutover_steps.results import StepResult


def test_every_lambda_task_state_runs_a_registry_step_and_every_step_has_a_state():
    # Given the Task states of the definition, read through the registry
    tasks = states.tasks()
    # Then each one runs a step of the registry or calls an integration whose result type is known
    assert all(task.step is not None or task.result is results.Published for task in tasks.values())
    # And every step of the registry runs in some state, but the undo of stopped releases, which EventBridge calls
    run = {task.step.key for task in tasks.values() if task.step}
    assert run == set(registry.BY_KEY) - {registry.STOPPED_RELEASE_HANDLER, registry.LEDGER_WRITER}


def test_a_state_running_a_function_the_registry_lacks_is_refused_by_name():
    definition = {"States": {"Do something new": {"Type": "Task", "Resource": "${SomethingNewFunctionArn}"}}}

    with pytest.raises(KeyError, match="SomethingNew"):
        registry.task_states(definition)


def test_each_state_reads_its_result_with_its_steps_type():
    tasks = states.tasks()
    # The health check runs in three states, each with its own result key and the same result type
    health = states.of_step("CheckHealth")
    assert len(health) == 3
    assert {tasks[name].result_key for name in health} == {"health", "recheck", "old_health"}
    assert all(tasks[name].result is results.Health for name in health)
    # The approval's result is the operator's answer sent back on the task token; the question of a hold
    # whose analysis ended inconclusive is answered the same way, under a result key of its own
    asking = states.of_step(registry.APPROVAL)
    assert {tasks[name].result_key for name in asking} == {"approval", "analysis_answer"}
    assert sorted(states.answer_waits().values(), key=str) == [None, registry.ANALYSIS_QUESTION]
    for state in asking:
        answer = states.read(state, {"decision": "reject", "by": "bob", "reason": "500s on /cart"})
        assert isinstance(answer, results.ApprovalAnswer)
        assert answer.describe() == "rejected by bob: 500s on /cart"
    # Every type a step names is a result type
    assert all(issubclass(step.result, StepResult) for step in registry.STEPS)


def test_each_step_names_the_result_keys_the_definition_puts_its_result_at():
    # Given the states that put a step's result under $.results (the step functions cannot read the definition)
    put = {}
    for task in states.tasks().values():
        if task.step and task.result_path and task.result_path.startswith("$.results."):
            put.setdefault(task.step.key, set()).add(task.result_key)
    # Then each step's result_keys are exactly those, and no key is two steps'
    assert {step.key: set(step.result_keys) for step in registry.STEPS if step.result_keys} == put
    keys = [key for step in registry.STEPS for key in step.result_keys]
    assert len(keys) == len(set(keys))


def test_a_result_type_serialises_to_the_json_the_definition_reads():
    # Given a hold's watch that reached its function's time limit, which the definition's Choice reads
    alarms = results.Alarms(watched=["web-5xx"], missing=[], looks=3, remaining_seconds=12, hold_over=False)
    # Then the JSON has the keys the Choice reads, and none the step did not set
    assert alarms.to_json() == {"watched": ["web-5xx"], "missing": [], "looks": 3, "remaining_seconds": 12, "hold_over": False}
    # And reading it back gives the same result and the same line for people
    again = results.Alarms.from_json(alarms.to_json())
    assert again == alarms
    assert again.describe() == "1 alarm(s) OK; 3 look(s), 12 s of hold left"


def test_the_success_notification_is_given_the_names_of_the_states_whose_warnings_it_lists():
    # The notification's Lambda has no definition to read: its state passes the names in, which must
    # be the states that leave each warning (their Catch's ResultPath is `$.warnings.<result key>`)
    (notify,) = states.of_step("NotifySucceeded")
    warned_by = states.definition()["States"][notify]["Parameters"]["warned_by"]
    catching = {catch["ResultPath"].rsplit(".", 1)[-1]: name for name, state in states.definition()["States"].items()
                for catch in state.get("Catch", []) if catch.get("ResultPath", "").startswith("$.warnings.")}
    assert warned_by == {key: name for key, name in catching.items() if key in warned_by}
    # Every warning a release can have by the time it notifies is named, and each is work left to do
    before_notify = {key for key, name in catching.items() if notify in states.reachable(name)}
    assert set(warned_by) == before_notify and set(warned_by) <= set(unfinished.LEFT_TO_DO)
    assert set(catching) <= set(unfinished.LEFT_TO_DO)


def test_no_module_of_the_command_line_or_the_fault_matrix_spells_a_state_name():
    # Given every state name of the definition
    names = list(states.definition()["States"])
    # Then none appears in the source of cutover/ or chaos/: they find states through the registry
    root = pathlib.Path(ROOT)
    found = [(str(path.relative_to(root)), name)
             for folder in ("cutover", "chaos") for path in sorted((root / folder).rglob("*.py"))
             for name in names if name in path.read_text(encoding="utf-8")]
    assert found == []


def test_the_verification_checks_say_themselves_through_the_results_that_carry_them():
    # Given the prepared checks and a hold's watch with its hold check, as the steps write them
    smoke = {"name": "smoke", "kind": "http", "passed": True, "message": "https://x answered 200", "phase": "prepared"}
    contract = {"name": "contract", "kind": "lambda", "passed": False, "message": "3 failed", "phase": "prepared"}
    verified = results.Verified(phase="prepared", verification=[smoke, contract])
    hold = results.Alarms(watched=[], missing=[], looks=2, remaining_seconds=5, hold_over=False,
                          verification=[{**smoke, "phase": "hold"}])
    # Then each says what its checks found, and reads back from its JSON the same
    assert verified.describe() == ("2 check(s) on the prepared version: smoke passed: https://x answered 200; "
                                   "contract FAILED: 3 failed")
    assert hold.describe() == "no alarms to watch; smoke passed: https://x answered 200; 2 look(s), 5 s of hold left"
    assert results.Verified.from_json(verified.to_json()) == verified
    assert [(c.name, c.phase, c.passed) for c in hold.verification_checks()] == [("smoke", "hold", True)]
    # And a look without hold checks writes no key for them: the definition's state data stays as it was
    assert "verification" not in results.Alarms(watched=[], missing=[]).to_json()
