"""The traffic shift's decisions: the weights of each traffic step, and whether a public rule still
holds what this release left there.

Pure, like `cutover_steps.decisions.forward`: the shift and the retirement decide here from the rules they read,
and `cutover plan` runs the same decisions over every traffic step to show the weights in turn.
Once the release has written a rule, the only state it accepts there is the one it wrote (before
that, the one it read): anything else was changed by someone else (RuleDrifted).
"""
from __future__ import annotations

from typing import Any

from cutover_steps.errors import RuleDrifted
from cutover_steps.decisions.intent import CHANGE, KEEP, Intent


def weights_for(route: dict[str, Any], percent: int) -> dict[str, int]:
    """Spread the old share over the old target groups in proportion to what they had."""
    if percent >= 100 or not route["old"]:
        return {route["new"]: 1}
    # A group at weight 0 still counts as 1, so every old group keeps a share until the last step.
    shares = {arn: max(1, int(route["forward"][arn])) for arn in route["old"]}
    total = sum(shares.values())
    weights = {route["new"]: percent * 10}  # weights go to 999; tenths of a percent keep the split exact
    for arn, share in shares.items():
        weights[arn] = max(1, round((100 - percent) * 10 * share / total))
    return weights


def expected_now(route: dict[str, Any], previous: dict[str, Any]) -> dict[str, int]:
    """What the rule may hold now without anyone else having touched it: what this release last
    wrote there, or, before its first write, what it read. Anything else is someone else's change."""
    written = (previous.get("written") or {}).get(route["route"])
    return {arn: int(w) for arn, w in written.items()} if written else route["forward"]


def drifted(route: dict[str, Any], current: dict[str, int], previous: dict[str, Any]) -> RuleDrifted:
    return RuleDrifted(
        f"public rule of route {route['route']} was changed outside this release: it forwards to {current}, "
        f"not to what the release {'last wrote' if (previous.get('written') or {}).get(route['route']) else 'read'} "
        f"({expected_now(route, previous)}); it is left as it is"
    )


def unchanged_since(route: dict[str, Any], current: dict[str, int], previous: dict[str, Any]) -> None:
    """Refuse a rule that no longer holds what this release left there (RuleDrifted)."""
    if normalized(current) != normalized(expected_now(route, previous)):
        raise drifted(route, current, previous)


def weight_change(route: dict[str, Any], current: dict[str, int], percent: int, previous: dict[str, Any]) -> Intent:
    """Set the public rule of `route` to the weights of `percent`, unless it holds them already; a rule
    someone else changed is refused (`previous`: the shift's last result, with what it wrote)."""
    target = weights_for(route, percent)
    if normalized(current) == normalized(target):
        return Intent(KEEP, "public rule", route["route"], before=current, after=target, why=f"already at {percent} %")
    unchanged_since(route, current, previous)
    return Intent(CHANGE, "public rule", route["route"], before=current, after=target, why=f"{percent} % to the new version")


def normalized(weights: dict[str, int]) -> dict[str, int]:
    """A single-group forward is weight-agnostic; compare forwards by their shares."""
    total = sum(weights.values())
    if not total:
        return {arn: 0 for arn in weights}
    return {arn: round(100 * w / total) for arn, w in weights.items()}
