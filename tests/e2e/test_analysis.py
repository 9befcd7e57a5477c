"""The canary judge through the real definition: simulated requests through the public rule, each version
judged by its own target group's metrics during the holds and the bake; a failing verdict rolls traffic
back as an alarm does, and status, history and the notifications carry the scorecard."""
from __future__ import annotations

import contextlib
import threading

from cutover import operations, reports
from cutover.local.traffic import Behaviour
from tests.e2e.safety_fixtures import (
    assert_torn_down, assert_v1_serves_as_before, config_with, entered, finish, lock_item, notifications, start,
    subscribe_queue,
)

HOLD_STATE = "Watch alarms while traffic holds"
ERRORS = {"name": "errors", "alb": "error_rate", "max_increase": 0.01}
LATENCY = {"name": "latency", "alb": "p99_latency", "max_ratio": 1.5}


def analysed(demo, *, hold: int = 4, bake: int = 0, steps=None, **analysis):
    settings = {"interval_seconds": 1, "min_requests": 40, "inconclusive": "fail", "metrics": [ERRORS, LATENCY], **analysis}
    return config_with(demo, alarm_check_seconds=1, bake_seconds=bake, analysis=settings,
                       traffic_steps=steps or [{"percent": 50, "hold_seconds": hold}, {"percent": 100, "hold_seconds": 0}])


def send_traffic(demo, **behaviours: Behaviour):
    return demo.engine.send_traffic([demo.public_rule], rps=200, tick_seconds=0.25,
                                    behaviours={version.lstrip("v"): b for version, b in behaviours.items()})


@contextlib.contextmanager
def emitting(cloudwatch, failures: dict[str, int]):
    """Each version's Shop/OrderFailures, put every half second, as a running service emits it."""
    stop = threading.Event()

    def emit():
        while not stop.is_set():
            cloudwatch.put_metric_data(Namespace="Shop", MetricData=[
                {"MetricName": "OrderFailures", "Dimensions": [{"Name": "Version", "Value": version}], "Value": count}
                for version, count in failures.items()])
            stop.wait(0.5)

    thread = threading.Thread(target=emit, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def card(scorecard: dict, name: str) -> dict:
    return next(c for c in scorecard["metrics"] if c["name"] == name)


def test_a_healthy_version_passes_the_analysis_and_every_view_shows_its_scorecard(demo):
    # Given requests flowing through the public rule, and a config judging errors and p99 during a 50 % hold
    queue = subscribe_queue(demo)
    send_traffic(demo)
    config = analysed(demo)

    # When a version that answers as well as the old one is released
    arn = start(demo, "2", config)
    result = finish(demo, arn)

    # Then it succeeded, judged by both versions' own requests,
    assert result["status"] == "SUCCEEDED", result.get("cause")
    status = reports.status(demo.sfn, arn)
    scorecard = status.data["analysis"]
    assert scorecard["verdict"] == "pass" and scorecard["percent"] == 50
    errors = card(scorecard, "errors")
    assert errors["verdict"] == "pass" and errors["new"] == 0 and errors["new_requests"] >= 40 and errors["old_requests"] >= 40
    assert card(scorecard, "latency")["verdict"] == "pass"
    # and status, history and the notification say so
    assert "  analysis  pass at 50%" in status.text()
    watch = [reports.what_it_did(e) for e in reports.history(demo.sfn, arn).data["states"] if e["state"] == HOLD_STATE]
    assert any("analysis pass at 50% (errors pass: errors 0.00% vs 0.00%" in line for line in watch), watch
    (succeeded,) = [m for m in notifications(demo, queue) if "succeeded" in m["Subject"]]
    assert "Canary analysis pass at 50% (errors pass" in succeeded["Message"]
    assert lock_item(demo) is None


def test_a_version_answering_errors_is_rolled_back_with_the_errors_metric_failing(demo):
    # Given version 2 answering a third of its requests with a 5XX
    queue = subscribe_queue(demo)
    send_traffic(demo, v2=Behaviour(error_rate=0.3))
    config = analysed(demo, hold=30)

    # When it is released
    arn = start(demo, "2", config)
    result = finish(demo, arn)

    # Then the judge failed it during the hold (long before the hold's end) and traffic was rolled back as after an alarm,
    assert result["status"] == "FAILED"
    assert result["error"] == "AnalysisFailed", result.get("cause")
    assert "the canary analysis failed at 50% to the new version: analysis fail at 50% (errors FAIL: errors " in result["cause"]
    assert "Rolled back: public rules back on the old version (1 of 1)" in result["cause"]
    assert_v1_serves_as_before(demo)
    assert_torn_down(demo, "web-2")
    assert "Retire the old version" not in entered(demo, arn)
    # and the scorecard is in status (JSON and text) and in the failure notification
    status = reports.status(demo.sfn, arn)
    assert card(status.data["analysis"], "errors")["verdict"] == "fail"
    assert card(status.data["analysis"], "errors")["new"] > 0.2
    assert "errors     fail" in status.text()
    (failed,) = [m for m in notifications(demo, queue) if "failed" in m["Subject"]]
    assert "AnalysisFailed" in failed["Message"] and "errors FAIL" in failed["Message"]
    assert lock_item(demo) is None


def test_a_slow_version_is_rolled_back_with_the_latency_metric_failing(demo):
    # Given version 2 answering with a p99 of 3 s against the old version's 100 ms
    send_traffic(demo, v2=Behaviour(p99_ms=3000))
    arn = start(demo, "2", analysed(demo, hold=30))

    # When it is released, Then the latency metric fails it and the old version serves again
    result = finish(demo, arn)
    assert result["error"] == "AnalysisFailed", result.get("cause")
    assert "latency FAIL: p99" in result["cause"] and "errors FAIL" not in result["cause"]
    assert_v1_serves_as_before(demo)
    assert_torn_down(demo, "web-2")


def test_during_the_bake_the_new_version_is_judged_against_the_old_one_before_the_switch(demo):
    # Given all traffic switched at once, and a bake in which the old version serves nothing
    send_traffic(demo, v2=Behaviour(error_rate=0.3))
    config = analysed(demo, bake=30, steps=[{"percent": 100, "hold_seconds": 0}], interval_seconds=2)

    # When the erring version 2 takes all traffic
    result = finish(demo, start(demo, "2", config))

    # Then the bake's judge compares it with what the old version served before the switch, fails it, and the
    # still-warm old version takes the traffic back
    assert result["error"] == "AnalysisFailed", result.get("cause")
    assert "during the bake" in result["cause"] and "errors FAIL" in result["cause"]
    assert_v1_serves_as_before(demo)


def test_an_inconclusive_analysis_fails_the_release_when_the_config_says_fail(demo):
    # Given a sample the traffic cannot reach in the hold
    send_traffic(demo)
    result = finish(demo, start(demo, "2", analysed(demo, hold=2, min_requests=100000)))

    # Then the end of the hold finds it inconclusive and rolls back
    assert result["error"] == "AnalysisFailed", result.get("cause")
    assert "inconclusive at the end of the hold (inconclusive: fail)" in result["cause"]
    assert "new and old version had fewer than 100000 requests" in result["cause"]
    assert_v1_serves_as_before(demo)


def test_an_inconclusive_analysis_extends_the_hold_then_fails_when_the_extension_is_over(demo):
    # Given extend, up to 3 s more
    send_traffic(demo)
    arn = start(demo, "2", analysed(demo, hold=2, min_requests=100000, inconclusive="extend", max_extend_seconds=3))
    result = finish(demo, arn)

    # Then the hold went on 3 s more before the release failed
    assert result["error"] == "AnalysisFailed", result.get("cause")
    assert "still inconclusive after the hold was extended by 3 s" in result["cause"]
    (last,) = [r for r in operations.latest_results(operations.history(demo.sfn, arn)).values()
               if isinstance(r, dict) and "extended_seconds" in r]
    assert last["extended_seconds"] == 3


def test_an_extended_hold_goes_on_once_the_sample_is_large_enough(demo):
    # Given a sample the hold alone does not reach, and extend
    send_traffic(demo)
    arn = start(demo, "2", analysed(demo, hold=1, min_requests=300, inconclusive="extend", max_extend_seconds=60))

    # Then the hold is extended until the judge can tell, and the version passes
    result = finish(demo, arn)
    assert result["status"] == "SUCCEEDED", result.get("cause")
    scorecard = reports.status(demo.sfn, arn).data["analysis"]
    assert scorecard["verdict"] == "pass" and card(scorecard, "errors")["new_requests"] >= 300
    watch = [r for r in operations.latest_results(operations.history(demo.sfn, arn)).values()
             if isinstance(r, dict) and "extended_seconds" in r]
    assert watch and 0 < watch[0]["extended_seconds"] < 60


def test_a_custom_metric_of_the_service_is_read_per_version_and_compared_per_request(demo):
    # Given the service's own metric Shop/OrderFailures per Version, version 2 failing ten times as many orders
    send_traffic(demo)
    cloudwatch = demo.client("cloudwatch")
    orders = {"name": "orders", "cloudwatch": {"namespace": "Shop", "metric_name": "OrderFailures",
                                               "dimensions": {"Version": "${version}"}, "stat": "Sum"}, "max_ratio": 1.5}

    # When version 2 is released with that metric judged, both versions emitting it all along (the
    # judge reads only what was emitted since the traffic step began)
    with emitting(cloudwatch, {"1": 1, "2": 10}):
        result = finish(demo, start(demo, "2", analysed(demo, hold=30, metrics=[orders])))

    # Then each version's own series was read and version 2 fails on it
    assert result["error"] == "AnalysisFailed", result.get("cause")
    assert "orders FAIL" in result["cause"]
    assert_v1_serves_as_before(demo)
