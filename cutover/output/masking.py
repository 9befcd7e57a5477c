"""Environment values hidden from what the command line prints (`plan`, `render`, `history`): a plain
value may be a secret nobody marked as one, and terminals and CI logs are read by many."""
from __future__ import annotations

from typing import Any

HIDDEN = "(hidden)"
CHANGED = "(hidden, changed)"


def _values_hidden(value: Any) -> Any:
    if isinstance(value, dict):
        return {name: HIDDEN for name in value}
    if isinstance(value, list):
        # The task definition's form: [{"name": …, "value": …}].
        return [{**entry, "value": HIDDEN} if isinstance(entry, dict) and "value" in entry else entry for entry in value]
    return value


def masked(data: Any) -> Any:
    """`data` with every environment value replaced by (hidden), the names kept: the config's and the
    start input's `environment`, a task definition's, and a plan's field-by-field changes of one."""
    if isinstance(data, list):
        return [masked(item) for item in data]
    if not isinstance(data, dict):
        return data
    if str(data.get("field", "")).endswith(".environment") and {"before", "after"} <= set(data):
        before, after = data["before"] or {}, data["after"] or {}
        # Which names change value shows, not the values themselves.
        changed = {name: CHANGED if name in before and before[name] != value else HIDDEN for name, value in after.items()}
        return {**data, "before": _values_hidden(data["before"]), "after": changed if data["after"] is not None else None}
    return {key: _values_hidden(value) if key == "environment" else masked(value) for key, value in data.items()}
