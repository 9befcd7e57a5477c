"""Typed views of the results earlier states left at `$.results.<key>`: `results.live` is ReadLiveRoutes'
LiveRoutes, or an empty one when it has not run; each key's type comes from the registry (`Step.result_keys`)."""
from __future__ import annotations

from typing import Any

from cutover_steps import registry
from cutover_steps.results import StepResult

# Result key -> the type of what lands there, for every step of the registry.
TYPES: dict[str, type[StepResult]] = {key: step.result for step in registry.STEPS for key in step.result_keys}


def _known(key: str) -> None:
    if key.startswith("_") or key not in TYPES:
        raise AttributeError(f"no step puts a result at $.results.{key} (registry.Step.result_keys: {', '.join(TYPES)})")


class AsSent:
    """The results as the state machine passed them, untyped (None when absent), by the same attribute
    names: for what must be shown as it was sent (an operator's answer that is no answer)."""
    __slots__ = ("_raw",)

    def __init__(self, raw: dict[str, Any]) -> None:
        self._raw = raw

    def __getattr__(self, key: str) -> Any:
        _known(key)
        return self._raw.get(key)


class EarlierResults:
    """The `results` of a step's event (or of an execution's history), read by attribute. As the
    reads by key before it, tolerant: a result absent (or not an object) reads as its type's defaults."""
    __slots__ = ("raw", "_typed")

    def __init__(self, raw: dict[str, Any] | None = None) -> None:
        self.raw: dict[str, Any] = raw if isinstance(raw, dict) else {}
        self._typed: dict[str, StepResult] = {}

    @classmethod
    def of(cls, results: EarlierResults | dict[str, Any] | None) -> EarlierResults:
        """A view of `results`: the view itself, or one over the dict."""
        return results if isinstance(results, EarlierResults) else cls(results)

    def __getattr__(self, key: str) -> Any:
        _known(key)
        if key not in self._typed:
            found = TYPES[key].from_json(self.raw.get(key))
            self._typed[key] = found if found is not None else TYPES[key]()
        return self._typed[key]

    def __contains__(self, key: str) -> bool:
        """Whether the state that puts `key` has left its result: an empty one counts as none, as it
        read as none by key (`results.get(key) or {}`)."""
        return bool(self.raw.get(key))

    @property
    def as_sent(self) -> AsSent:
        return AsSent(self.raw)

    def replaced(self, **changed: StepResult) -> EarlierResults:
        """A view with some results replaced (`replaced(traffic=…)`), the others as they are."""
        for key in changed:
            _known(key)
        return EarlierResults({**self.raw, **{key: result.to_json() for key, result in changed.items()}})
