"""The canary judge's decisions (`release.analysis`): each metric's verdict, new version against old, from
the numbers each version's own target group (or metric) gave. Pure: no AWS, no clock.

Why each is computed as it is lives in docs/release.md ("The canary judge").
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

from cutover_steps.results import describe_scorecard

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
# Nothing to compare with: no old version serves (a service's first release, or a re-run once the new one serves alone).
SKIPPED = "skipped"
# Stats that add up over requests: a version serving a quarter of the traffic has a quarter of the sum,
# so these are compared per request.
PER_REQUEST_STATS = ("Sum", "SampleCount")


@dataclass(frozen=True)
class Side:
    """What one version's metrics said over its window: requests, 5XX answers, p99 (seconds), and each
    custom metric's value by name (None where CloudWatch had no data)."""
    requests: float = 0
    errors: float = 0
    p99: float | None = None
    custom: dict[str, float | None] | None = None


def z_of(confidence: float) -> float:
    """The one-sided normal quantile of `confidence` (0.95 gives 1.645)."""
    return NormalDist().inv_cdf(confidence)


def error_rate_interval(new: Side, old: Side, confidence: float) -> tuple[float, float, float]:
    """(difference of the error shares new - old, and its lower and upper one-sided bounds at
    `confidence`): the Agresti-Caffo interval, which adds one error and one success to each side so that
    zero errors on a side (the usual case) still gives an honest width."""
    p_new = (new.errors + 1) / (new.requests + 2)
    p_old = (old.errors + 1) / (old.requests + 2)
    spread = math.sqrt(p_new * (1 - p_new) / (new.requests + 2) + p_old * (1 - p_old) / (old.requests + 2))
    difference = new.errors / new.requests - old.errors / old.requests
    adjusted = p_new - p_old
    z = z_of(confidence)
    return difference, adjusted - z * spread, adjusted + z * spread


def judge_error_rate(metric: Any, new: Side, old: Side, confidence: float) -> tuple[str, str]:
    """Fails when the new version's error share is, at `confidence`, more than max_increase above the
    old one's; passes when it is, at `confidence`, at most that; otherwise the sample cannot tell."""
    limit = metric.max_increase
    difference, lower, upper = error_rate_interval(new, old, confidence)
    rates = f"{percent(new.errors / new.requests)} vs {percent(old.errors / old.requests)}"
    bounds = f"{percent(lower, signed=True)} to {percent(upper, signed=True)} at {confidence:g}"
    if lower > limit:
        return FAIL, f"errors {rates}: the increase is {bounds}, above the {percent(limit)} allowed"
    if upper <= limit:
        return PASS, f"errors {rates}: the increase is {bounds}, within the {percent(limit)} allowed"
    return INCONCLUSIVE, f"errors {rates}: the increase is {bounds}, which straddles the {percent(limit)} allowed"


def judge_ratio(metric: Any, new_value: float | None, old_value: float | None, unit: str) -> tuple[str, str]:
    """A ratio new / old (max_ratio) or a difference new - old (max_increase) against its limit."""
    if new_value is None or old_value is None:
        side = "either side" if new_value is None and old_value is None else "the new version" if new_value is None else "the old version"
        return INCONCLUSIVE, f"no data for {side}"
    values = f"{fmt(new_value, unit)} vs {fmt(old_value, unit)}"
    if metric.max_ratio is not None:
        if old_value <= 0:
            if new_value <= 0:
                return PASS, f"{values}: both zero"
            return FAIL, f"{values}: the old version had none, the new one has some (ratio unbounded, {metric.max_ratio:g} allowed)"
        ratio = new_value / old_value
        verdict = FAIL if ratio > metric.max_ratio else PASS
        return verdict, f"{values}: {ratio:.2f}x, {'above' if verdict == FAIL else 'within'} the {metric.max_ratio:g}x allowed"
    increase = new_value - old_value
    verdict = FAIL if increase > metric.max_increase else PASS
    return verdict, f"{values}: {increase:+g}, {'above' if verdict == FAIL else 'within'} the {metric.max_increase:g} allowed"


def judge_metric(metric: Any, new: Side, old: Side, settings: Any) -> dict[str, Any]:
    """One metric's scorecard line: both sides' values, the sample, the verdict and why."""
    card: dict[str, Any] = {"name": metric.name, "new_requests": int(new.requests), "old_requests": int(old.requests)}
    if metric.alb == "error_rate":
        card.update(new=rate_or_none(new), old=rate_or_none(old))
    elif metric.alb == "p99_latency":
        card.update(new=new.p99, old=old.p99)
    else:
        card.update(new=custom_value(metric, new), old=custom_value(metric, old))
    small = [name for name, side in (("new", new), ("old", old)) if side.requests < settings.min_requests]
    if small:
        card.update(verdict=INCONCLUSIVE, why=f"{' and '.join(small)} version had fewer than {settings.min_requests} "
                                                f"requests ({int(new.requests)} new, {int(old.requests)} old)")
    elif metric.alb == "error_rate":
        card["verdict"], card["why"] = judge_error_rate(metric, new, old, settings.confidence)
    elif metric.alb == "p99_latency":
        card["verdict"], card["why"] = judge_ratio(metric, new.p99, old.p99, "s")
        card["why"] = f"p99 {card['why']}"
    else:
        card["verdict"], card["why"] = judge_ratio(metric, card["new"], card["old"], "")
    return card


def verdict_of(cards: list[dict[str, Any]]) -> str:
    """Any metric failing fails the version; else any the sample cannot tell leaves it inconclusive."""
    verdicts = {c["verdict"] for c in cards}
    return FAIL if FAIL in verdicts else INCONCLUSIVE if INCONCLUSIVE in verdicts else PASS


def judge(settings: Any, new: Side, old: Side) -> dict[str, Any]:
    """The scorecard of one look: every metric's line and the verdict."""
    cards = [judge_metric(metric, new, old, settings) for metric in settings.metrics]
    return {"verdict": verdict_of(cards), "metrics": cards}


def at_hold_end(verdict: str, settings: Any, extended_seconds: float) -> str:
    """What the end of a hold does with the last verdict: go on (pass), roll back (fail), keep holding
    (extend, while the extension lasts), or ask an operator."""
    if verdict != INCONCLUSIVE:
        return "roll back" if verdict == FAIL else "go on"
    if settings.inconclusive == "extend":
        return "extend" if extended_seconds < settings.max_extend_seconds else "roll back"
    return "ask" if settings.inconclusive == "ask" else "roll back"


def custom_value(metric: Any, side: Side) -> float | None:
    value = (side.custom or {}).get(metric.name)
    if value is None or metric.cloudwatch.stat not in PER_REQUEST_STATS:
        return value
    return value / side.requests if side.requests else None


def rate_or_none(side: Side) -> float | None:
    return side.errors / side.requests if side.requests else None


def dimensions_for(metric: Any, version: str) -> dict[str, str]:
    """The custom metric's dimensions for one version (`${version}` replaced)."""
    return {key: value.replace("${version}", version) for key, value in metric.cloudwatch.dimensions.items()}


def percent(share: float, signed: bool = False) -> str:
    return f"{share * 100:+.2f}%" if signed else f"{share * 100:.2f}%"


def fmt(value: float, unit: str) -> str:
    return f"{value * 1000:.0f} ms" if unit == "s" else f"{value:.4g}"


def describe(scorecard: dict[str, Any]) -> str:
    """One line for people: the verdict, then each metric's verdict and why."""
    return describe_scorecard(scorecard)
