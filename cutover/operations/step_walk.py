"""`cutover plan`'s walk through the release's steps: in the definition's order, each step's own read
and decide, and nothing applied. Each step's expected result is handed to the steps after it at the
ResultPath the definition gives it, as the state machine hands them the real one.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

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


def protocol_of(module: str) -> StepProtocol | None:
    """The step's protocol; None for a step that decides nothing a plan shows (a wait, a check, a notice)."""
    return getattr(importlib.import_module(module), "STEP", None)


def walk(plan: Plan, skip: frozenset[str] = frozenset()) -> dict[str, list[Walked]]:
    """Step key -> its runs, for every step with a protocol that the release's own path runs (the
    states whose result goes to `$.results`), but those in `skip`. A step that more than one state
    runs is walked at its first; one that runs over and over (ShiftTraffic) says how often (`runs`)."""
    data = plan.model_dump(mode="json")
    results: dict[str, Any] = {}
    walked: dict[str, list[Walked]] = {}
    for name, task in states.tasks().items():
        if task.step is None or not (task.result_path or "").startswith(RESULTS):
            continue
        if task.step.key in walked or task.step.key in skip:
            continue
        protocol = protocol_of(task.step.module)
        if protocol is None:
            continue
        for _ in range(protocol.runs(StepEvent(raw={"plan": data}, results=dict(results)))):
            event = StepEvent(raw={"plan": data}, results=dict(results))
            found = protocol.read(event)
            decided = protocol.decide(event, found)
            expected = protocol.expect(event, decided)
            results[task.result_key] = expected.to_json()
            walked.setdefault(task.step.key, []).append(Walked(name, event, found, decided, expected))
    return walked
