"""A step's decision: what it would create, change, keep or delete, with before and after.

Made by `cutover_steps.decisions.forward` from what a step read, applied by the step; `cutover plan` prints them.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

CREATE, CHANGE, KEEP, DELETE = "create", "change", "keep", "delete"


@dataclass(frozen=True)
class Intent:
    action: str  # CREATE, CHANGE, KEEP or DELETE
    resource: str  # what kind of thing: "target group", "ECS service"…
    name: str
    before: Any = None
    after: Any = None
    why: str | None = None

    @property
    def acts(self) -> bool:
        return self.action != KEEP

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
