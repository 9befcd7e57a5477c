"""Set environment variables for a while: the steps' AWS clients are configured from them."""
from __future__ import annotations

import os


def apply(values: dict[str, str | None]) -> dict[str, str | None]:
    """Set each variable (None removes it); returns what they were, which `apply` puts back."""
    previous = {key: os.environ.get(key) for key in values}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    return previous
