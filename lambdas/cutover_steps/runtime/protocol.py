"""A step in three parts: read the world, decide on what was read, apply the decision.

`decide` is pure (no AWS, no clock: a time it needs is read by `read`). The Lambda handler runs the
three in turn; `cutover plan` runs `read` and `decide` of every step a release would run and stops
there, handing each step's `expect`ed result to the steps after it as the state machine hands the real one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Generic, Protocol, TypeVar

from cutover_steps.decisions.intent import Intent
from cutover_steps.errors import CutoverError
from cutover_steps.results import StepResult
from cutover_steps.runtime.step import StepEvent, lambda_step

Found = TypeVar("Found")
Decided = TypeVar("Decided", bound="Decision")


class Decision(Protocol):
    """What every step's decision shows: its intents (what it would create, change, keep or delete),
    and the refusal that stops the step before it changes anything (None when it may go on)."""

    @property
    def intents(self) -> list[Intent]: ...

    @property
    def refusal(self) -> CutoverError | None: ...


@dataclass(frozen=True)
class StepProtocol(Generic[Found, Decided]):
    read: Callable[[StepEvent], Found]
    decide: Callable[[StepEvent, Found], Decided]
    apply: Callable[[StepEvent, Decided], StepResult]
    # What `apply` would return, made without AWS, for `cutover plan`'s later steps to decide on: an
    # identifier only AWS assigns (the ARN of a target group not created yet) is None there.
    expect: Callable[[StepEvent, Decided], StepResult]
    # How many times a release runs the step (ShiftTraffic: once per traffic step); its event's earlier
    # results then hold its own result of the time before.
    runs: Callable[[StepEvent], int] = lambda event: 1
    # An undo step's: what its `read` would find after the steps whose results the event holds, made
    # from those results without AWS, so that `cutover plan` can say what a failure at each point undoes.
    project: Callable[[StepEvent], Found] | None = None

    def run(self, event: StepEvent) -> StepResult:
        decided = self.decide(event, self.read(event))
        # Refused before anything changes: a step that refuses one of its resources changes none.
        if decided.refusal is not None:
            raise decided.refusal
        return self.apply(event, decided)

    def handler(self) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        """The Lambda handler: the three parts, wrapped as every step is (`lambda_step`), named after
        the step's module, so that logs and traces say which step ran."""
        def handler(event: StepEvent) -> StepResult:
            return self.run(event)

        handler.__module__, handler.__wrapped__ = self.read.__module__, self.run  # type: ignore[attr-defined]
        return lambda_step(handler)
