"""`cutover plan`'s walk through the release's steps: in the definition's order, each step's own read
and decide, and nothing applied. Each step's expected result is handed to the steps after it at the
ResultPath the definition gives it, as the state machine hands them the real one. At each point a
release could fail, the undo that the definition's Catch leads to decides on what the steps before
would have left (`StepProtocol.project`).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from cutover_steps.decisions.intent import Intent
from cutover_steps.plan.models import Plan
from cutover_steps.results import StepResult
from cutover_steps.runtime.protocol import StepProtocol
from cutover_steps.runtime.step import StepEvent

from cutover.definition import states

RESULTS = "$.results."


@dataclass(frozen=True)
class Walked:
    """One run of a step in the walk: what it read, what it decided, what it would have returned."""
    state: str
    event: StepEvent
    found: Any
    decided: Any
    expected: StepResult


@dataclass(frozen=True)
class Point:
    """A state of the release's path, reached with these earlier results (its own included, since a
    step can fail after its calls); `run` counts the times a repeated step has run (ShiftTraffic)."""
    state: str
    run: int
    results: dict[str, Any]


@dataclass(frozen=True)
class Undo:
    """What a failure at a point would undo: the undo's states, and what each decides."""
    point: Point
    states: list[str]
    intents: list[Intent]


@dataclass(frozen=True)
class Walk:
    steps: dict[str, list[Walked]]
    points: list[Point]


def protocol_of(module: str) -> StepProtocol | None:
    """The step's protocol; None for a step that decides nothing a plan shows (a wait, a check, a notice)."""
    return getattr(importlib.import_module(module), "STEP", None)


def walk(plan: Plan, skip: frozenset[str] = frozenset()) -> Walk:
    """Every step with a protocol that the release's own path runs (the states whose result goes to
    `$.results`), but those in `skip`, by step key. A step that more than one state runs is walked at
    its first. One that runs over and over (ShiftTraffic) says how often (`runs`): the states of its
    loop in the definition (the sizing, the hold) are then passed once per run, as a release passes them."""
    data = plan.model_dump(mode="json")
    results: dict[str, Any] = {}
    walked: dict[str, list[Walked]] = {}
    points: list[Point] = []
    path = [name for name, task in states.tasks().items() if task.step and (task.result_path or "").startswith(RESULTS)]
    done: set[str] = set()

    def protocol_at(name: str) -> StepProtocol | None:
        key = states.tasks()[name].step.key
        return None if key in skip else protocol_of(states.tasks()[name].step.module)

    for name in path:
        if name in done:
            continue
        loop = [other for other in path if other in states.loops().get(name, frozenset())] or [name]
        done.update(loop)
        event = StepEvent(raw={"plan": data}, results=dict(results))
        repeats = max((p.runs(event) for p in map(protocol_at, loop) if p is not None), default=1)
        for run in range(1, repeats + 1):
            for state in loop:
                task, protocol = states.tasks()[state], protocol_at(state)
                if protocol is not None and (task.step.key not in walked or walked[task.step.key][0].state == state):
                    event = StepEvent(raw={"plan": data}, results=dict(results))
                    found = protocol.read(event)
                    decided = protocol.decide(event, found)
                    expected = protocol.expect(event, decided)
                    results[task.result_key] = expected.to_json()
                    walked.setdefault(task.step.key, []).append(Walked(state, event, found, decided, expected))
                points.append(Point(state, run, dict(results)))
    return Walk(walked, points)


def undos(plan: Plan, points: list[Point]) -> list[Undo]:
    """For each point with a Catch that leads to an undo: the undo's states and their decisions."""
    data = plan.model_dump(mode="json")
    definition = states.definition()["States"]
    found = []
    for point in points:
        targets = [catch["Next"] for catch in definition[point.state].get("Catch", [])]
        undo_states = [name for name in states.tasks() if any(name == t or name in states.reachable(t) for t in targets)
                       and _undo_protocol(name) is not None]
        if not undo_states:
            continue
        intents = []
        for name in undo_states:
            protocol = _undo_protocol(name)
            static = {k: v for k, v in (definition[name].get("Parameters") or {}).items() if not k.endswith(".$")}
            event = StepEvent(raw={"plan": data, **static}, results=dict(point.results))
            intents += protocol.decide(event, protocol.project(event)).intents
        found.append(Undo(point, undo_states, intents))
    return found


def _undo_protocol(state: str) -> StepProtocol | None:
    task = states.tasks()[state]
    protocol = protocol_of(task.step.module) if task.step else None
    return protocol if protocol is not None and protocol.project is not None else None
