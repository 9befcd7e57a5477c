"""Every step that changes the account follows the step protocol (read, then a pure decide, then apply),
so that `cutover plan` can walk it; and no step's `decide` reaches AWS or the clock, however many of
the step's own functions it goes through."""
from __future__ import annotations

import datetime
import importlib
import inspect
import time
import types

from cutover_steps import registry
from cutover_steps.runtime.protocol import StepProtocol

# Steps without a protocol, each with why; the list is exact, so it only shrinks.
WITHOUT_PROTOCOL = {
    "LoadRelease": "validates the input; `cutover plan` runs the same checks before its walk",
    "UnlockService": "runs after the release's work; a plan would take no lock",
    "CheckHealth": "waits and reads; changes nothing",
    "VerifyPrepared": "runs the user's checks; changes nothing of the release",
    "RequestApproval": "asks an operator; changes nothing",
    "WatchAlarms": "watches a hold; changes nothing",
    "SizeForTraffic": "waits for capacity inside its invocation; its sizing is the service's own",
    "NotifySucceeded": "sends a message",
    "UndoStoppedRelease": "runs the undo steps' own functions, in its own state machine",
    "RecordInLedger": "writes an ended execution's history; outside a release",
}
# The undo steps: their protocol also says what they would find after a failure (`project`).
UNDO_STEPS = {"TearDownPrepared", "RollBackTraffic"}
# What a decision may not reach: AWS (the adapters, the reads, the SDK) and the clock.
IMPURE_MODULES = ("cutover_steps.adapters", "cutover_steps.reads", "boto3", "botocore")
# The clock: what of each object reads it (parsing a time is fine).
CLOCKS = {time: {"time", "time_ns", "monotonic", "perf_counter"}, datetime.datetime: {"now", "utcnow", "today"},
          datetime.date: {"today"}}


def protocol(step: registry.Step) -> StepProtocol | None:
    return getattr(importlib.import_module(step.module), "STEP", None)


def test_every_step_but_the_listed_ones_follows_the_protocol_and_its_handler_runs_it():
    without = {step.key for step in registry.STEPS if protocol(step) is None}
    assert without == set(WITHOUT_PROTOCOL)
    for step in registry.STEPS:
        found = protocol(step)
        if found is None:
            continue
        assert isinstance(found, StepProtocol), step.key
        # The handler the stack deploys is the protocol's, not a second path beside it.
        handler = importlib.import_module(step.module).handler
        assert inspect.unwrap(handler) == found.run and handler.__module__ == step.module, step.key
        assert (found.project is not None) == (step.key in UNDO_STEPS), step.key


def _reached(fn: types.FunctionType, seen: set[object]) -> list[str]:
    """What `fn`, and every function of the step code it names, refers to that is AWS or the clock."""
    if fn in seen:
        return []
    seen.add(fn)
    found = []
    names = set(fn.__code__.co_names) | set(fn.__code__.co_freevars)
    for const in fn.__code__.co_consts:
        if isinstance(const, types.CodeType):
            names |= set(const.co_names)
    namespace = {**fn.__globals__, **dict(zip(fn.__code__.co_freevars, (c.cell_contents for c in fn.__closure__ or ())))}
    for name in names:
        value = namespace.get(name)
        if isinstance(value, types.ModuleType):
            if value.__name__.startswith(IMPURE_MODULES) or names & CLOCKS.get(value, set()):
                found.append(f"{fn.__module__}.{fn.__qualname__} uses {value.__name__}")
            elif value.__name__.startswith("cutover_steps."):
                # A module of the step code: follow the functions of it that `fn` names.
                for attribute in names:
                    inner = getattr(value, attribute, None)
                    if isinstance(inner, types.FunctionType):
                        found += _reached(inner, seen)
        elif isinstance(value, type) and names & CLOCKS.get(value, set()):
            found.append(f"{fn.__module__}.{fn.__qualname__} reads the clock through {name}")
        elif isinstance(value, types.FunctionType):
            if value.__module__.startswith(IMPURE_MODULES):
                found.append(f"{fn.__module__}.{fn.__qualname__} calls {value.__module__}.{value.__name__}")
            elif value.__module__.startswith("cutover_steps.") or value.__module__ == fn.__module__:
                found += _reached(value, seen)
    return found


def test_no_step_decides_through_aws_or_the_clock():
    reached = []
    for step in registry.STEPS:
        found = protocol(step)
        if found is not None:
            reached += _reached(found.decide, set())
    assert reached == []


def test_the_purity_check_finds_a_decision_that_reads_aws_or_the_clock():
    # A decide that reads the clock through a helper of its own, and one that calls an adapter, are found.
    from cutover_steps.adapters import ecs

    def helper():
        return time.time()

    def reads_the_clock(event, found):
        return helper()

    def calls_aws(event, found):
        return ecs.service("cluster", "name")

    assert _reached(reads_the_clock, set()) and _reached(calls_aws, set())
