"""One deploy config for every environment.

`environments.<env>` is deep-merged over the rest of the file for a release to `<env>` (mappings
merge key by key; lists and values replace), and `${env:NAME}`, `${ssm:/path}` and
`${cfn:STACK.OUTPUT}` stand for values the command line looks up at `plan` and `start`. The
release itself merges too (a config read from S3), and refuses a reference nobody resolved.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from cutover_steps.errors import InvalidReleaseInput

KEY = "environments"
REFERENCE = re.compile(r"\$\{(env|ssm|cfn):([^}]*)\}")


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        return {**base, **{k: _merge(base.get(k), v) for k, v in override.items()}}
    return override


def for_env(data: dict[str, Any], env: str) -> dict[str, Any]:
    """The config as a release to `env` reads it."""
    layers = data.get(KEY)
    if layers is None:
        return data
    if not isinstance(layers, dict) or not all(isinstance(v, dict) for v in layers.values()):
        raise InvalidReleaseInput(f"{KEY}: must map each env name to the settings it changes")
    if env not in layers:
        known = ", ".join(sorted(layers)) or "none"
        raise InvalidReleaseInput(f"{KEY}: has no {env!r} (it has {known}); add {KEY}.{env}, even empty ({{}}), "
                                  "to release there")
    base = {k: v for k, v in data.items() if k != KEY}
    return _merge(base, layers[env])


def references(data: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(field path, reference) for every `${kind:name}` in the config, in order."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from references(value, f"{path}.{key}" if path else str(key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from references(value, f"{path}.{index}")
    elif isinstance(data, str):
        for match in REFERENCE.finditer(data):
            yield path, match.group(0)


def substitute(data: Any, value_of: Callable[[str, str, str], str]) -> Any:
    """The config with each reference replaced by `value_of(path, kind, name)`."""

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, f"{path}.{i}") for i, v in enumerate(value)]
        if isinstance(value, str):
            return REFERENCE.sub(lambda m: value_of(path, m.group(1), m.group(2)), value)
        return value

    return walk(data, "")


def refuse_unresolved(data: dict[str, Any]) -> None:
    found = list(references(data))
    if found:
        listed = "; ".join(f"{path}: {reference}" for path, reference in found)
        raise InvalidReleaseInput(f"{listed}: not resolved. References are resolved by `cutover plan` and "
                                  "`cutover start --config FILE`; start with the file, or upload it resolved "
                                  "(`cutover render --env ENV --config FILE`)")
