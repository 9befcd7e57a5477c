"""The release definition's states as the command line reads an execution: which step each Task
state runs and the type of its result (from the registry), and the loops (health polls, traffic
holds) that a live status line treats as one phase. No state is named here: all comes from
`statemachine/release.asl.json` and `cutover_steps.registry`.
"""
from __future__ import annotations

import functools
import json
from typing import Any

from cutover_steps import registry
from cutover_steps.results import StepResult

from cutover import DEFINITION


@functools.cache
def definition() -> dict[str, Any]:
    with open(DEFINITION, encoding="utf-8") as f:
        return json.load(f)


@functools.cache
def tasks() -> dict[str, registry.TaskState]:
    return registry.task_states(definition())


def of_step(key: str) -> list[str]:
    """The states that run the step `key`, in the definition's order."""
    return [name for name, task in tasks().items() if task.step and task.step.key == key]


def by_result_key() -> dict[str, str]:
    """Result key -> the first state (in the definition's order) that puts its result there."""
    found: dict[str, str] = {}
    for name, task in tasks().items():
        if task.result_key is not None:
            found.setdefault(task.result_key, name)
    return found


@functools.cache
def answer_waits() -> dict[str, str | None]:
    """The states that wait for an operator's answer on a task token (they run the approval step), each
    with the question its payload asks (`registry.QUESTION`): None for the approval of the prepared
    version, `registry.ANALYSIS_QUESTION` for a hold whose canary analysis ended inconclusive."""
    states = definition()["States"]
    return {name: ((states[name].get("Parameters") or {}).get("Payload") or {}).get(registry.QUESTION)
            for name in of_step(registry.APPROVAL)}


def read(state: str, output: Any) -> StepResult | None:
    """What the state returned, typed by its step's result type; None for a state that is no Task."""
    task = tasks().get(state)
    return task.read(output) if task else None


def describe(state: str, output: Any) -> str:
    """One line for people of what the state found and changed."""
    result = read(state, output)
    return result.describe() if result else ""


@functools.cache
def edges(catches: bool) -> dict[str, frozenset[str]]:
    """Each state's next states: by Next, Default and a Choice's rules, and by a Catch when `catches`."""
    states = definition()["States"]
    found = {name: {s["Next"]} if "Next" in s else set() for name, s in states.items()}
    for name, state in states.items():
        found[name] |= {c["Next"] for c in state.get("Choices", []) + (state.get("Catch", []) if catches else [])}
        found[name] |= {state["Default"]} if "Default" in state else set()
    # Read many times over by `reachable` (a plan asks it for every state and undo): built once.
    return {name: frozenset(after) for name, after in found.items()}


def reachable(start: str, catches: bool = True) -> set[str]:
    """The states a run that enters `start` can reach after it (by a Catch too, unless `catches` is False)."""
    graph = edges(catches)
    seen, todo = set(), [start]
    while todo:
        for after in graph[todo.pop()]:
            if after not in seen:
                seen.add(after)
                todo.append(after)
    return seen


@functools.cache
def loops() -> dict[str, frozenset[str]]:
    """For every state in a loop of the definition (Wait, Choice and Task states that go round until
    something is true), the states of its loop. Catch routes are no loops: only Next, Choices, Default."""
    states = definition()["States"]
    reach = {name: reachable(name, catches=False) for name in states}
    return {name: frozenset({name} | {other for other in reach[name] if name in reach[other]})
            for name in states if name in reach[name]}
