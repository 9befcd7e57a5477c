"""A task definition family's latest revision, with its tags: what RegisterTaskDefinition decides from."""
from __future__ import annotations

from typing import Any

from cutover_steps.adapters import ecs


def latest_revision(family: str) -> dict[str, Any] | None:
    """The family's latest revision: one call however many revisions the family has
    (DescribeTaskDefinition of a family alone gives its latest ACTIVE revision). The release holds
    the service's lock, so a re-run finds its own revision there."""
    return ecs.task_definition(family)
