"""release.analysis and release.capacity in the deploy config: accepted as documented, and each mistake refused
by LoadRelease's check naming its field, as the command line's model refuses it too."""
from __future__ import annotations

import copy

import pytest

from cutover_steps.errors import InvalidReleaseInput
from cutover_steps.steps.load_release import parse_start_input
from tests.unit.configs import errors, raw_config

ANALYSIS = {
    "interval_seconds": 60, "min_requests": 200, "inconclusive": "extend",
    "metrics": [
        {"name": "errors", "alb": "error_rate", "max_increase": 0.01},
        {"name": "latency", "alb": "p99_latency", "max_ratio": 1.2},
        {"name": "orders", "cloudwatch": {"namespace": "Shop", "metric_name": "OrderFailures",
                                          "dimensions": {"Version": "${version}"}, "stat": "Sum"}, "max_ratio": 1.5},
    ],
}


def with_release(**release) -> dict:
    raw = raw_config()
    raw.setdefault("release", {}).update(copy.deepcopy(release))
    return raw


def refused_by_load(raw: dict) -> str:
    with pytest.raises(InvalidReleaseInput) as error:
        parse_start_input({"env": "demo", "version": "2", "image": "registry.local/web:2", "config": raw})
    return str(error.value)


def test_the_issue_s_analysis_and_proportional_capacity_are_accepted_with_defaults_filled_in():
    parsed = parse_start_input({"env": "demo", "version": "2", "image": "registry.local/web:2",
                                "config": with_release(analysis=ANALYSIS, capacity="proportional")})
    analysis = parsed.config.release.analysis
    assert (analysis.confidence, analysis.max_extend_seconds, parsed.config.release.capacity) == (0.95, 600, "proportional")
    assert [m.name for m in analysis.metrics] == ["errors", "latency", "orders"]


def test_ask_is_accepted_and_every_hold_s_question_counts_in_how_long_a_release_may_run():
    # Given inconclusive: ask (an operator decides), with two watched holds and the bake
    analysis = {**ANALYSIS, "inconclusive": "ask"}
    steps = [{"percent": 25, "hold_seconds": 600}, {"percent": 50, "hold_seconds": 600}, {"percent": 100, "hold_seconds": 0}]
    parsed = parse_start_input({"env": "demo", "version": "2", "image": "registry.local/web:2",
                                "config": with_release(analysis=analysis, traffic_steps=steps, bake_seconds=600)})
    # Then it is accepted as written
    assert parsed.config.release.analysis.inconclusive == "ask"
    # and each of the three may wait an approval timeout for the answer: three days each is more than an execution runs
    raw = with_release(analysis=analysis, traffic_steps=steps, bake_seconds=600,
                       approval={"mode": "auto", "timeout_seconds": 3 * 86400})
    refused = refused_by_load(raw)
    assert "3 x approval.timeout_seconds for the analysis' questions (inconclusive: ask) 777600 s" in refused
    assert "3 x approval.timeout_seconds" in errors(raw)


def test_capacity_defaults_to_full_and_analysis_to_none():
    parsed = parse_start_input({"env": "demo", "version": "2", "image": "registry.local/web:2", "config": raw_config()})
    assert (parsed.config.release.capacity, parsed.config.release.analysis) == ("full", None)


def metric_change(index: int, **fields):
    analysis = copy.deepcopy(ANALYSIS)
    analysis["metrics"][index] = {k: v for k, v in {**analysis["metrics"][index], **fields}.items() if v is not None}
    return analysis


@pytest.mark.parametrize("release, field", [
    ({"capacity": "half"}, "release.capacity: Input should be 'full' or 'proportional'"),
    ({"analysis": {**ANALYSIS, "inconclusive": "wait"}}, "release.analysis.inconclusive: Input should be 'extend', 'fail' or 'ask'"),
    ({"analysis": {**ANALYSIS, "min_requests": 0}}, "release.analysis.min_requests:"),
    ({"analysis": {**ANALYSIS, "confidence": 1.5}}, "release.analysis.confidence:"),
    ({"analysis": {**ANALYSIS, "metrics": []}}, "release.analysis.metrics:"),
    ({"analysis": metric_change(0, alb="error_share")}, "release.analysis.metrics.0.alb:"),
    ({"analysis": metric_change(0, max_increase=None, max_ratio=2)},
     "release.analysis.metrics.0.max_ratio: metric 'errors' (error_rate) is judged by how much the error share may rise"),
    ({"analysis": metric_change(1, max_ratio=None, max_increase=0.5)},
     "release.analysis.metrics.1.max_increase: metric 'latency' (p99_latency) is judged as new / old"),
    ({"analysis": metric_change(1, max_increase=0.5)}, "release.analysis.metrics.1.max_ratio: metric 'latency' needs one threshold"),
    ({"analysis": metric_change(1, alb=None)}, "release.analysis.metrics.1.alb: metric 'latency' needs alb"),
    ({"analysis": metric_change(0, cloudwatch=ANALYSIS["metrics"][2]["cloudwatch"])},
     "release.analysis.metrics.0.cloudwatch: metric 'errors' has both alb and cloudwatch"),
    ({"analysis": metric_change(2, cloudwatch={**ANALYSIS["metrics"][2]["cloudwatch"], "stat": "p101"})},
     "release.analysis.metrics.2.cloudwatch.stat:"),
    ({"analysis": metric_change(2, cloudwatch={**ANALYSIS["metrics"][2]["cloudwatch"], "dimensions": {"Version": "${env}"}})},
     "release.analysis.metrics.2.cloudwatch.dimensions: Version is '${env}', but only ${version} is replaced"),
    ({"analysis": metric_change(1, name="errors")}, "release.analysis.metrics: Value error, metric names must be unique; rename errors"),
    ({"analysis": {**ANALYSIS, "interval": 60}}, "release.analysis.interval: unknown key"),
    ({"analysis": ANALYSIS, "traffic_steps": [{"percent": 100, "hold_seconds": 0}]},
     "release.analysis: the judge runs during traffic holds and the bake, and this config has neither"),
])
def test_a_wrong_analysis_or_capacity_is_refused_naming_its_field(release, field):
    raw = with_release(**release)
    assert field in refused_by_load(raw)
    assert field in errors(raw)


def test_a_hold_the_analysis_may_extend_past_the_execution_s_limit_is_refused_naming_max_extend_seconds():
    # Given a 7-day approval and one hold of an hour: within the 8 days an execution may run...
    long_wait = {"approval": {"timeout_seconds": 7 * 86400},
                 "traffic_steps": [{"percent": 50, "hold_seconds": 3600}, {"percent": 100, "hold_seconds": 0}]}
    for fits in ({**ANALYSIS, "inconclusive": "fail", "max_extend_seconds": 86400},
                 {**ANALYSIS, "max_extend_seconds": 600}):
        parse_start_input({"env": "demo", "version": "2", "image": "registry.local/web:2",
                           "config": with_release(**long_wait, analysis=fits)})
    # ...but not when an inconclusive verdict may extend that hold by a day
    message = refused_by_load(with_release(**long_wait, analysis={**ANALYSIS, "max_extend_seconds": 86400}))
    assert "1 x analysis.max_extend_seconds (inconclusive: extend) 86400 s" in message
    assert "or lower analysis.max_extend_seconds" in message
