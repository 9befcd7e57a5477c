"""The cells of the fault matrix, generated from the definition and the step registry.

Every state of `statemachine/release.asl.json` that runs a Lambda step gets one cell per fault
kind, and a stop while its function runs when its step changes anything (the function finishing
after the stop); every phase of a release (prepared, each traffic step, the bake when the config
has one) gets a stop by hand and an alarm, and a stop whose status change comes twice, late
(after the next release started) or never (then the stack's sweep finds it). A state that a plain release never enters (the undo steps,
their unlocks) is reached by a route: the states whose permanent failure leads there through
their Catch, found by walking the definition from the states a plain release enters.
"""
from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from cutover import DEFINITION
from cutover_steps.registry import may_change_after_a_stop, task_states

# A transient fault heals on the step's retry; the release must end as if nothing had happened.
TRANSIENT = ("throttle", "crash_before", "crash_after", "timeout")
FAULTS = (*TRANSIENT, "access_denied")
# In time: the function is slow and the execution is stopped while it runs; its change lands after.
SLOW_STOP = "slow_stop"
EVENTS = ("stop", "alarm", "stop_twice", "stop_late", "stop_lost")
# How the status change of a stop is delivered, for the stop events.
DELIVERY = {"stop": "normal", "stop_twice": "twice", "stop_late": "late:5", "stop_lost": "lost"}
FAULT_TEXT = {
    "throttle": "AWS throttles every call of the step once",
    "crash_before": "the function crashes before its AWS change",
    "crash_after": "the function crashes right after its AWS change",
    "timeout": "the function runs past its Lambda timeout (Sandbox.Timedout)",
    "access_denied": "every AWS call of the step is refused with AccessDenied",
    "slow_stop": "the function is slow and the execution is stopped while it runs: its change lands after the stop",
    "stop": "an operator stops the execution (StopExecution)",
    "stop_twice": "an operator stops the execution and its status change is delivered twice at once",
    "stop_late": "an operator stops the execution and its status change comes late, after the next release started",
    "stop_lost": "an operator stops the execution, its status change never comes, and the stack's sweep finds it",
    "alarm": "a watched alarm goes into ALARM",
}


def load_definition(path: str = DEFINITION) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def lambda_states(definition: dict[str, Any]) -> dict[str, str]:
    """State name → step key, for every state that runs a Lambda step."""
    return {name: task.step.key for name, task in task_states(definition).items() if task.step}


def _edges(state: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(states next without a failure, states a Catch leads to)."""
    plain = [state["Next"]] if "Next" in state else []
    plain += [choice["Next"] for choice in state.get("Choices", [])]
    plain += [state["Default"]] if "Default" in state else []
    return plain, [catch["Next"] for catch in state.get("Catch", [])]


def routes(definition: dict[str, Any], entered: list[str]) -> dict[str, tuple[str, ...]]:
    """For every state, the states that must fail for a release to enter it.

    `entered` is the order in which a plain release entered its states: those need no failure.
    Elsewhere the walk goes through Catch edges, preferring the source entered last (the most
    work to undo); it never counts on a Choice branch the plain release did not take.
    """
    states = definition["States"]
    best: dict[str, tuple[str, ...]] = {name: () for name in entered}
    order = {name: i for i, name in enumerate(entered)}
    queue = deque(sorted(entered, key=lambda name: -order[name]))
    while queue:
        name = queue.popleft()
        plain, caught = _edges(states[name])
        if states[name]["Type"] == "Choice" and order.get(name) is not None:
            # A branch the plain release did not take needs a condition (a rejection, a health
            # timeout) that no step failure makes: those states are reached by their Catch routes.
            plain = []
        elif states[name]["Type"] == "Choice":
            # Off the plain path (an undo's health loop), steps that do not fail take the first
            # branch or wait and look again; the others need a condition no step failure makes.
            plain = [states[name]["Choices"][0]["Next"]] + ([states[name]["Default"]] if "Default" in states[name] else [])
        for target, route in [(t, best[name]) for t in plain] + [(t, (*best[name], name)) for t in caught]:
            if target not in best or len(route) < len(best[target]):
                best[target] = route
                queue.append(target)
    return best


@dataclass(frozen=True)
class Cell:
    """One release of the matrix: a fault in a state (or an event at a phase), and its route."""

    state: str
    fault: str
    step: str = ""
    route: tuple[str, ...] = field(default=())

    @property
    def id(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.state.lower()).strip("-")
        return f"{slug}--{self.fault.replace('_', '-')}"

    @property
    def transient(self) -> bool:
        return self.fault in TRANSIENT and not self.route

    def describe(self) -> str:
        where = f"in '{self.state}' ({self.step})" if self.step else f"at {self.state}"
        text = f"{FAULT_TEXT[self.fault]} {where}"
        return text + (f", reached because {' then '.join(repr(s) for s in self.route)} failed" if self.route else "")


def phases(config: dict[str, Any]) -> list[str]:
    """The moments of a release at which a stop or an alarm is tried."""
    release = config.get("release") or {}
    found = ["prepared"] + [f"traffic {step['percent']}%" for step in release.get("traffic_steps", [])]
    if release.get("bake_seconds"):
        found.append("bake")
    return found


def cells(definition: dict[str, Any], entered: list[str], config: dict[str, Any]) -> list[Cell]:
    reach = routes(definition, entered)
    missing = sorted(set(lambda_states(definition)) - set(reach))
    if missing:
        raise ValueError(f"no way found into states {missing}: the matrix cannot cover them")
    found = [Cell(state, fault, key, reach[state]) for state, key in lambda_states(definition).items() for fault in FAULTS]
    found += [Cell(state, SLOW_STOP, key, reach[state]) for state, key in lambda_states(definition).items()
              if may_change_after_a_stop(key)]
    found += [Cell(phase, event) for phase in phases(config) for event in EVENTS]
    return found


# The error a transient fault gives its Task state: what the state's Retry must name to heal it.
TRANSIENT_ERRORS = {"crash_before": "Crash", "crash_after": "Crash", "timeout": "Sandbox.Timedout"}


def _retried(state: dict[str, Any], error: str) -> bool:
    return any(error in retry["ErrorEquals"] or "States.ALL" in retry["ErrorEquals"] for retry in state.get("Retry", []))


def known_failure(cell: Cell, entered: list[str], states: dict[str, str],
                  definition: dict[str, Any] | None = None) -> str | None:
    """Why a cell is known to break an invariant today (it still runs in `make chaos` and fails it;
    the sample of the test suite leaves it out), or None."""
    error = TRANSIENT_ERRORS.get(cell.fault)
    state = (definition or load_definition())["States"].get(cell.state, {})
    switched = [i for i, name in enumerate(entered) if states.get(name) == "ShiftTraffic"]
    if (cell.fault == "access_denied" and not cell.route and not state.get("Catch") and switched
            and cell.state in entered and entered.index(cell.state) > switched[0]):
        return ("the state has no Catch: failing for good after the new version took the traffic, it ends the "
                "release FAILED while the new version serves alone, and cutover status says FAILED")
    if error and cell.transient and state.get("Type") == "Task" and not _retried(state, error):
        return (f"the state does not retry {error} (it retries only {sorted({e for r in state.get('Retry', []) for e in r['ErrorEquals']})}): "
                "one crash of its function fails the release, which is undone; started again, it succeeds")
    return None


def seeded_sample(all_cells: list[Cell], seed: int, entered: list[str], states: dict[str, str],
                  definition: dict[str, Any]) -> tuple[list[Cell], dict[str, str]]:
    """The sample the seed draws (from the cells in `python -m chaos`'s order), and the known failures left out."""
    known = {c.id: why for c in all_cells if (why := known_failure(c, entered, states, definition))}
    return sample(all_cells, seed, leave_out=lambda c: c.id in known), known


def diagonal(all_cells: list[Cell]) -> list[Cell]:
    """The cells in an order that covers every state with one fault kind, then with the next, and
    so on: a run cut short has still seen every state."""
    states = list(dict.fromkeys(c.state for c in all_cells))
    kinds = list(dict.fromkeys(c.fault for c in all_cells))
    return sorted(all_cells, key=lambda c: ((kinds.index(c.fault) - states.index(c.state)) % len(kinds), states.index(c.state)))


def sample(all_cells: list[Cell], seed: int, leave_out: Callable[[Cell], bool] = lambda cell: False) -> list[Cell]:
    """Every step once (in one of its states, with one fault kind, both drawn by the seed), and a
    stop, an alarm and a stop whose status change comes twice, late or never, at drawn phases;
    cells `leave_out` names are not drawn."""
    import random

    rng = random.Random(seed)
    by_step: dict[str, list[Cell]] = {}
    all_cells = [c for c in all_cells if not leave_out(c)]
    for cell in all_cells:
        if cell.step:
            by_step.setdefault(cell.step, []).append(cell)
    chosen = [rng.choice(by_step[step]) for step in sorted(by_step)]
    events = [c for c in all_cells if not c.step]
    # A stop, an alarm, and one stop whose status change comes twice, late or never.
    kinds = (("stop",), ("alarm",), tuple(e for e in EVENTS if e not in ("stop", "alarm")))
    chosen += [rng.choice(found) for kind in kinds if (found := [c for c in events if c.fault in kind])]
    return chosen
