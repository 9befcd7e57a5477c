"""Read-only checks that what a deploy config names exists (cluster, rules, alarms): a wrong name fails
before any change. LoadRelease makes them (on the config's view, without pydantic); `cutover adopt` too (on the model).
"""
from __future__ import annotations

from typing import Any

from cutover_steps.adapters import ecs, elbv2
from cutover_steps.adapters.cloudwatch import firing
from cutover_steps.errors import InvalidReleaseInput


def check_references(config: Any) -> None:
    """Read-only checks that the cluster, every rule and every alarm exist: a wrong name fails before any change."""
    if not ecs.cluster_active(config.cluster):
        raise InvalidReleaseInput(f"cluster: ECS cluster {config.cluster!r} does not exist or is not ACTIVE")
    named = {f"routes.{index}.{field}": getattr(route, field)
             for index, route in enumerate(config.routes) for field in ("preparing_rule_arn", "public_rule_arn")}
    for field, description in elbv2.rules(named).items():
        if description.get("IsDefault"):
            raise InvalidReleaseInput(f"{field}: is a listener's default rule; Cutover edits listener rules only")
    if config.release.alarm_names:
        # A misspelt alarm would watch nothing: the release would shift traffic unprotected.
        _, missing = firing(list(config.release.alarm_names))
        if missing:
            raise InvalidReleaseInput(
                f"release.alarm_names: no CloudWatch alarm named {', '.join(repr(n) for n in missing)} in this account and region"
            )
