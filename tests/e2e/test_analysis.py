"""The canary judge through the real definition: simulated requests through the public rule, each version
judged by its own target group's metrics during the holds and the bake; a failing verdict rolls traffic
back as an alarm does, and status, history and the notifications carry the scorecard."""
from __future__ import annotations

import contextlib
import io
import json
import threading
import time

from cutover.operations import executions as operations
from cutover.output import reports
from cutover.cli import main as cutover_main
from cutover.output.progress import Follower
from cutover_steps.decisions import ledger
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


def asking(demo, **release):
    """A 50 % hold whose sample the traffic cannot reach, and inconclusive: ask."""
    config = analysed(demo, hold=2, min_requests=100000, inconclusive="ask")
    config["release"].update(release)
    return config


def asked(demo, arn: str) -> dict:
    """Once the release waits for an operator's answer to the question of its inconclusive analysis: its status."""
    assert operations.wait_for_state(demo.sfn, arn, operations.ANALYSIS_QUESTION_STATE, 90), entered(demo, arn)
    deadline = time.time() + 30
    while operations.pending_task_token(demo.sfn, arn) is None and time.time() < deadline:
        time.sleep(0.2)
    return reports.status(demo.sfn, arn)


def test_an_inconclusive_analysis_with_ask_waits_for_an_operator_who_lets_the_new_version_go_on(demo):
    # Given requests through the public rule, a sample the hold cannot reach, and inconclusive: ask
    queue = subscribe_queue(demo)
    send_traffic(demo)
    arn = start(demo, "2", asking(demo))

    # When the hold ends with the analysis inconclusive
    status = asked(demo, arn)

    # Then the release waits with traffic still split as the hold left it,
    assert demo.forward(demo.public_rule) == {"demo-web-1": 500, "demo-web-2": 500}
    # status says since when, until when, the scorecard and the commands,
    wait = status.data["approval_wait"]
    assert status.data["waiting_for_approval"] is True and wait["question"] == "analysis"
    assert wait["timeout_seconds"] == 86400 and (wait["until"] - wait["since"]).total_seconds() == 86400
    assert wait["analysis"]["verdict"] == "inconclusive" and wait["analysis"]["percent"] == 50
    text = status.text()
    assert "waiting   for an operator's answer since " in text and "the canary analysis is inconclusive at 50%" in text
    assert "  analysis  inconclusive at 50%" in text and "fewer than 100000 requests" in text
    assert "approve   cutover approve release-2   (the new version goes on)" in text
    assert "reject    cutover reject release-2 --reason '...'   (traffic is rolled back to the old version)" in text
    # start --wait tells the wait the same way,
    shown = []
    Follower(demo.sfn, arn, shown.append, status_lines=False).step()
    (told,) = [e for e in shown if e.kind == "waiting_for_answer"]
    assert told.data["question"] == "analysis" and told.data["approve"] == "cutover approve release-2"
    assert "waiting for an operator's answer since" in told.text and "errors     inconclusive" in told.text
    assert "cutover reject release-2 --reason '...'" in told.text
    # and the notification carries the scorecard and both commands
    (question,) = [m for m in notifications(demo, queue) if "inconclusive" in m["Subject"]]
    assert question["Subject"] == "Cutover: web 2 (demo): analysis inconclusive at 50%, go on?"
    body = json.loads(question["Message"])
    assert body["analysis"]["verdict"] == "inconclusive" and card(body["analysis"], "errors")["verdict"] == "inconclusive"
    assert body["approve"] == f"cutover approve {arn}" and body["reject"].startswith(f"cutover reject {arn} --reason")
    assert question["MessageAttributes"]["event"]["Value"] == "analysis-inconclusive"

    # When an operator lets it go on
    operations.approve(demo.sfn, arn, by="alice", comment="the sample is small but clean")
    result = finish(demo, arn)

    # Then the release goes on to 100 % and succeeds, and history, status and the notification say who decided
    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert demo.forward(demo.public_rule) == {"demo-web-2": 1}
    lines = [reports.what_it_did(e) for e in reports.history(demo.sfn, arn).data["states"]
             if e["state"] == operations.ANALYSIS_QUESTION_STATE]
    assert lines == ["approved by alice: the sample is small but clean"]
    answer = reports.status(demo.sfn, arn)
    assert answer.data["analysis_answer"]["decision"] == "approve" and answer.data["analysis_answer"]["name"] == "alice"
    assert "  answer    approved by alice: the sample is small but clean" in answer.text()
    (succeeded,) = [m for m in notifications(demo, queue) if "succeeded" in m["Subject"]]
    assert "Let go on with the analysis inconclusive by: alice." in succeeded["Message"]
    # and the ledger does not take her answer for an approval of the release (its approval was automatic)
    assert ledger.entry("release-2", operations.history(demo.sfn, arn))["approved_by"] is None
    assert lock_item(demo) is None


def test_an_operator_rejecting_an_inconclusive_analysis_rolls_traffic_back_saying_who_and_why(demo):
    # Given a release asking whether it goes on, its analysis inconclusive at 50 %
    send_traffic(demo)
    arn = start(demo, "2", asking(demo))
    asked(demo, arn)

    # When an operator rejects it with the command line
    out, err = io.StringIO(), io.StringIO()
    code = cutover_main(["reject", "release-2", "--reason", "not enough traffic to trust it", "--by", "bob",
                         "--state-machine-arn", demo.engine.state_machine_arn], out=out, err=err)
    assert code == 0, err.getvalue()
    assert "Rejected release-2 as bob (arn:aws:" in out.getvalue()
    assert "; traffic is being rolled back to the old version." in out.getvalue()
    result = finish(demo, arn)

    # Then traffic is rolled back as after a failing verdict, the old version serving as before,
    assert result["status"] == "FAILED"
    assert result["error"] == "AnalysisRejected", result.get("cause")
    assert result["cause"].startswith("an operator decided that 2 does not go on (Rejected by bob (arn:aws:"), result["cause"]
    assert "): not enough traffic to trust it); the canary analysis is inconclusive at 50% to the new version" in result["cause"]
    assert "Rolled back: public rules back on the old version (1 of 1)" in result["cause"]
    assert_v1_serves_as_before(demo)
    assert_torn_down(demo, "web-2")
    assert "Retire the old version" not in entered(demo, arn)
    # and the history says who answered
    lines = [reports.what_it_did(e) for e in reports.history(demo.sfn, arn).data["states"]
             if e["state"] == operations.ANALYSIS_QUESTION_STATE]
    assert len(lines) == 1 and lines[0].startswith("rejected by bob (arn:aws:") and lines[0].endswith(": not enough traffic to trust it")
    # and the ledger counts it rolled back after traffic moved, not as a rejected approval
    entry = ledger.entry("release-2", operations.history(demo.sfn, arn))
    assert entry["outcome"] == "rolled back" and entry["approved_by"] is None
    assert entry["why"].startswith("AnalysisRejected: an operator decided that 2 does not go on (Rejected by bob")
    assert lock_item(demo) is None


def test_an_unanswered_question_rolls_traffic_back_when_the_approval_timeout_passes(demo):
    # Given a release asking whether it goes on, and two seconds to answer
    send_traffic(demo)
    arn = start(demo, "2", asking(demo, approval={"mode": "auto", "timeout_seconds": 2}))

    # When nobody answers
    result = finish(demo, arn)

    # Then traffic is rolled back and the cause says nobody answered in time
    assert result["error"] == "AnalysisNotAnswered", result.get("cause")
    assert result["cause"].startswith("nobody answered in time whether 2 goes on"), result["cause"]
    assert "timeout 2 s, approval.timeout_seconds" in result["cause"] and "inconclusive at 50%" in result["cause"]
    assert operations.ANALYSIS_QUESTION_STATE in entered(demo, arn)
    assert_v1_serves_as_before(demo)
    assert_torn_down(demo, "web-2")


def test_each_hold_and_the_bake_ask_and_an_answer_goes_on_as_the_end_of_that_hold_would(demo):
    # Given capacity that follows traffic, a 50 % hold and a bake, each ending inconclusive, and inconclusive: ask
    send_traffic(demo)
    config = asking(demo, capacity="proportional", bake_seconds=2)
    config["service_settings"]["desired_count"] = 4
    arn = start(demo, "2", config)

    # When an operator lets the new version go on at the 50 % hold
    first = asked(demo, arn).data["approval_wait"]
    assert first["asked"].startswith("the canary analysis is inconclusive at 50% to the new version: analysis inconclusive")
    assert demo.service("web-2")["desiredCount"] == 3  # ceil(4 x 50 % x 1.25): sized for its share
    operations.approve(demo.sfn, arn, by="alice")

    # Then the release goes on as after a hold that passed: the new version is scaled for 100 %, takes all
    # traffic, and the bake (the old version still warm) asks again
    deadline, wait = time.time() + 90, None
    while time.time() < deadline and "during the bake" not in ((wait or {}).get("asked") or ""):
        time.sleep(0.3)
        wait = reports.status(demo.sfn, arn).data["approval_wait"]
    assert "at 100% to the new version during the bake (the old version is still warm)" in wait["asked"], wait
    assert demo.forward(demo.public_rule) == {"demo-web-2": 1}
    assert demo.service("web-2")["desiredCount"] == 4 and demo.service("web-1")["desiredCount"] == 2
    states = [s for s in entered(demo, arn) if s != "Is the hold over?"]
    after_answer = states[states.index("Note that an operator let the new version go on") + 1]
    assert after_answer == "Scale the new version for the next traffic step"

    # When the bake's question is answered too, Then the old version is retired and the release succeeds
    operations.approve(demo.sfn, arn, by="bob", wait_seconds=10)
    result = finish(demo, arn)
    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert demo.service("web-1")["desiredCount"] == 0
    answers = [reports.what_it_did(e) for e in reports.history(demo.sfn, arn).data["states"]
               if e["state"] == operations.ANALYSIS_QUESTION_STATE]
    assert answers == ["approved by alice", "approved by bob"]
