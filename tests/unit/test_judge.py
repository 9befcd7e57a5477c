"""The canary judge's pure decisions: each metric's verdict from both versions' numbers, no AWS."""
from __future__ import annotations

import pytest

from cutover_steps.config.models import Analysis
from cutover_steps.decisions.judge import FAIL, INCONCLUSIVE, PASS, SKIPPED, Side, at_hold_end, describe, error_rate_interval, judge
from cutover_steps.plan.view import AnalysisView


def settings(*metrics: dict, **fields) -> AnalysisView:
    """The analysis settings as the steps read them: validated, then dumped into the plan."""
    return AnalysisView(Analysis(metrics=list(metrics), **fields).model_dump(mode="json"))


ERRORS = {"name": "errors", "alb": "error_rate", "max_increase": 0.01}
LATENCY = {"name": "latency", "alb": "p99_latency", "max_ratio": 1.2}
ORDERS = {"name": "orders", "cloudwatch": {"namespace": "Shop", "metric_name": "OrderFailures",
                                           "dimensions": {"Version": "${version}"}, "stat": "Sum"}, "max_ratio": 1.5}


def card(scorecard: dict, name: str) -> dict:
    return next(c for c in scorecard["metrics"] if c["name"] == name)


def test_a_version_erring_on_a_third_of_its_requests_fails_the_error_test():
    scorecard = judge(settings(ERRORS), Side(requests=600, errors=180), Side(requests=1800, errors=2))
    assert scorecard["verdict"] == FAIL
    assert card(scorecard, "errors")["new"] == pytest.approx(0.3) and "above the 1.00% allowed" in card(scorecard, "errors")["why"]


def test_no_errors_on_either_side_with_enough_requests_passes():
    scorecard = judge(settings(ERRORS), Side(requests=600), Side(requests=1800))
    assert scorecard["verdict"] == PASS and card(scorecard, "errors")["new"] == 0


def test_a_handful_of_errors_in_a_small_sample_is_not_a_failure_but_inconclusive():
    # 2 errors in 250 requests is 0.8 points above an old version without any: a bare threshold of 1 point
    # would pass it, one of 0.5 would fail it; the test says the sample cannot tell either way.
    scorecard = judge(settings(ERRORS, min_requests=200), Side(requests=250, errors=2), Side(requests=750))
    assert scorecard["verdict"] == INCONCLUSIVE
    assert "straddles" in card(scorecard, "errors")["why"]


def test_a_higher_confidence_needs_stronger_evidence_to_fail():
    new, old = Side(requests=400, errors=12), Side(requests=1200, errors=6)
    assert judge(settings(ERRORS, confidence=0.9), new, old)["verdict"] == FAIL
    assert judge(settings(ERRORS, confidence=0.999), new, old)["verdict"] == INCONCLUSIVE


def test_the_interval_of_the_error_increase_narrows_as_requests_grow():
    small = error_rate_interval(Side(100, 1), Side(100, 1), 0.95)
    large = error_rate_interval(Side(10000, 100), Side(10000, 100), 0.95)
    assert large[2] - large[1] < small[2] - small[1]
    assert small[1] < 0 < small[2] and large[1] < 0 < large[2]


def test_fewer_requests_than_min_requests_on_either_side_is_inconclusive_not_a_pass():
    scorecard = judge(settings(ERRORS, LATENCY, min_requests=200), Side(requests=150, p99=0.1),
                      Side(requests=5000, p99=0.1))
    assert scorecard["verdict"] == INCONCLUSIVE
    assert all(c["verdict"] == INCONCLUSIVE and "new version had fewer than 200" in c["why"] for c in scorecard["metrics"])


def test_p99_latency_fails_above_the_ratio_and_passes_within_it():
    slow = judge(settings(LATENCY), Side(requests=500, p99=3.0), Side(requests=1500, p99=0.12))
    fine = judge(settings(LATENCY), Side(requests=500, p99=0.13), Side(requests=1500, p99=0.12))
    assert slow["verdict"] == FAIL and "25.00x, above the 1.2x allowed" in card(slow, "latency")["why"]
    assert fine["verdict"] == PASS and card(fine, "latency")["new"] == 0.13


def test_a_side_without_latency_data_is_inconclusive():
    scorecard = judge(settings(LATENCY), Side(requests=500, p99=None), Side(requests=1500, p99=0.1))
    assert scorecard["verdict"] == INCONCLUSIVE and "no data for the new version" in card(scorecard, "latency")["why"]


def test_a_summed_custom_metric_is_compared_per_request_as_the_versions_serve_different_shares():
    # A quarter of the traffic with a quarter of the failures is the same rate, not a third of it.
    same_rate = judge(settings(ORDERS), Side(requests=250, custom={"orders": 5}), Side(requests=750, custom={"orders": 15}))
    worse = judge(settings(ORDERS), Side(requests=250, custom={"orders": 10}), Side(requests=750, custom={"orders": 15}))
    assert same_rate["verdict"] == PASS and card(same_rate, "orders")["new"] == pytest.approx(0.02)
    assert worse["verdict"] == FAIL


def test_one_failing_metric_fails_the_version_and_the_line_names_it():
    scorecard = judge(settings(ERRORS, LATENCY), Side(requests=600, p99=3.0), Side(requests=1800, p99=0.1))
    assert scorecard["verdict"] == FAIL
    assert [c["verdict"] for c in scorecard["metrics"]] == [PASS, FAIL]
    assert describe(scorecard).startswith("analysis fail (errors pass: ") and "latency FAIL: p99 3000 ms vs 100 ms" in describe(scorecard)


@pytest.mark.parametrize("policy, extended, then", [
    ("extend", 0, "extend"), ("extend", 600, "roll back"), ("fail", 0, "roll back"), ("ask", 0, "ask"),
])
def test_an_inconclusive_verdict_at_the_end_of_a_hold_follows_the_config(policy, extended, then):
    analysis = settings(ERRORS, inconclusive=policy, max_extend_seconds=600)
    assert at_hold_end(INCONCLUSIVE, analysis, extended) == then
    assert at_hold_end(PASS, analysis, extended) == "go on" and at_hold_end(FAIL, analysis, extended) == "roll back"
    assert at_hold_end(SKIPPED, analysis, extended) == "go on"
