"""Verification checks (release.verify) through the real definition: HTTP checks against a local
server, Lambda checks served by local Python functions; a failing check undoes the release."""
from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from cutover.operations import executions as operations
from cutover.output import reports
from cutover.definition import states
from cutover.local.engine import check_function_arn
from tests.e2e.safety_fixtures import (
    assert_torn_down, assert_v1_serves_as_before, config_with, entered, finish, lock_item, notifications, start,
    subscribe_queue,
)

VERIFY_STATE = "Run the checks on the prepared version"
HOLD_STATE = "Watch alarms while traffic holds"


class Endpoint:
    """A tiny HTTP server on a free port of 127.0.0.1 whose answer a test sets."""

    def __init__(self) -> None:
        self.status = 200
        self.requests: list[str] = []
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                endpoint.requests.append(self.path)
                self.send_response(endpoint.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/health") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    served = Endpoint()
    yield served
    served.close()


def http_check(endpoint: Endpoint, when: list[str], **settings: Any) -> dict[str, Any]:
    return {"name": "smoke", "http": {"url": endpoint.url(), "timeout_seconds": 2, "attempts": 2, **settings},
            "when": when}


def lambda_check(name: str, arn: str, when: list[str]) -> dict[str, Any]:
    return {"name": name, "lambda": {"function_arn": arn}, "when": when}


def step_results(demo, arn: str, state: str) -> list[Any]:
    return [result for name, result in operations.step_results(operations.history(demo.sfn, arn)) if name == state]


def test_passing_http_and_lambda_checks_let_the_release_succeed_and_show_in_history_and_status(demo, endpoint):
    # Given an HTTP check on the prepared and hold phases, and a Lambda check that looks at what it is given
    seen: list[dict[str, Any]] = []

    def contract_tests(event, context):
        seen.append(event)
        return {"passed": True, "message": f"12 contract tests passed against {event['target_groups'][0]['name']}"}

    arn_of_check = demo.engine.add_function("check-contract-tests", contract_tests)
    config = config_with(demo, verify=[http_check(endpoint, ["prepared", "hold"]),
                                       lambda_check("contract-tests", arn_of_check, ["prepared"])])
    queue = subscribe_queue(demo)

    # When v2 is released
    arn = start(demo, "2", config)
    result = finish(demo, arn)

    # Then it succeeded, both checks ran on the prepared version before traffic moved,
    assert result["status"] == "SUCCEEDED", result.get("cause")
    entered_states = entered(demo, arn)
    assert entered_states.index(VERIFY_STATE) < entered_states.index("Shift traffic to the new version")
    (prepared,) = step_results(demo, arn, VERIFY_STATE)
    assert [(c["name"], c["passed"], c["phase"]) for c in prepared["verification"]] == [
        ("smoke", True, "prepared"), ("contract-tests", True, "prepared")]
    # the Lambda check got the release context,
    (context,) = seen
    assert {k: context[k] for k in ("service", "env", "version", "phase", "check")} == {
        "service": "web", "env": "demo", "version": "2", "phase": "prepared", "check": "contract-tests"}
    assert context["target_groups"][0]["name"] == "demo-web-2"
    # the HTTP check ran at each alarm look during the hold too,
    holds = [r for r in step_results(demo, arn, "Watch alarms while traffic holds") if r.get("verification")]
    assert holds and all(c["name"] == "smoke" and c["passed"] and c["phase"] == "hold" for r in holds for c in r["verification"])
    assert len(endpoint.requests) >= 1 + len(holds)
    # and history, status and the notification say what the checks found
    assert states.describe(VERIFY_STATE, prepared) == (
        f"2 check(s) on the prepared version: smoke passed: {endpoint.url()} answered 200; "
        "contract-tests passed: 12 contract tests passed against demo-web-2")
    checks = operations.check_results(operations.history(demo.sfn, arn))
    assert {(c.name, c.phase, c.passed) for c in checks} == {
        ("smoke", "prepared", True), ("contract-tests", "prepared", True), ("smoke", "hold", True)}
    (succeeded,) = [m for m in notifications(demo, queue) if "succeeded" in m["Subject"]]
    assert "Checks: smoke passed (prepared, hold); contract-tests passed (prepared)." in succeeded["Message"]
    assert lock_item(demo) is None


def test_a_failing_prepared_check_tears_the_new_version_down_before_traffic_moves(demo, endpoint):
    # Given a prepared HTTP check whose URL answers 503
    endpoint.status = 503
    config = config_with(demo, verify=[http_check(endpoint, ["prepared"])])

    # When v2 is released
    arn = start(demo, "2", config)
    result = finish(demo, arn)

    # Then it failed with VerificationFailed naming the check and what it got,
    assert result["status"] == "FAILED"
    assert result["error"] == "VerificationFailed", result.get("cause")
    assert "verification failed on the prepared version" in result["cause"]
    assert f"smoke FAILED: {endpoint.url()}: expected 200, got 503, 503 in 2 attempt(s)" in result["cause"]
    assert "checks: [" not in result["cause"]
    # `cutover status` shows the failing check's result as it shows a passing one's, in JSON and in words,
    status = reports.status(demo.sfn, arn)
    assert status.data["checks"] == [{"name": "smoke", "kind": "http", "passed": False, "phase": "prepared",
                                      "message": f"{endpoint.url()}: expected 200, got 503, 503 in 2 attempt(s)"}]
    assert f"check     smoke FAILED: {endpoint.url()}: expected 200" in status.text()
    assert "checks: [" not in json.dumps(operations.timeline(operations.history(demo.sfn, arn)), default=str)
    # public traffic never moved, v2 is torn down and v1 serves as before; the lock is free
    assert "Shift traffic to the new version" not in entered(demo, arn)
    assert_v1_serves_as_before(demo)
    assert_torn_down(demo, "web-2")
    assert demo.forward(demo.preparing_rule) == {"demo-web-1": 1}
    assert lock_item(demo) is None


def test_a_failing_hold_check_rolls_traffic_back_like_an_alarm(demo):
    # Given a Lambda check on the holds that passes until someone says the new version misbehaves
    verdict = {"passed": True, "message": "error rate 0.1%"}
    check = demo.engine.add_function("check-error-rate", lambda event, context: dict(verdict))
    config = config_with(demo, alarm_check_seconds=1, verify=[lambda_check("error-rate", check, ["hold"])],
                         traffic_steps=[{"percent": 50, "hold_seconds": 60}, {"percent": 100, "hold_seconds": 0}])
    arn = start(demo, "2", config)
    assert operations.wait_for_state(demo.sfn, arn, HOLD_STATE, 60)
    assert demo.forward(demo.public_rule) == {"demo-web-1": 500, "demo-web-2": 500}

    # When the check fails during the 50% hold
    verdict.update(passed=False, message="error rate 7.5% (limit 1%)")
    result = finish(demo, arn)

    # Then traffic went back to v1 exactly as after an alarm, and the cause names the check
    assert result["status"] == "FAILED"
    assert result["error"] == "VerificationFailed", result.get("cause")
    assert "verification failed at 50% to the new version: error-rate FAILED: error rate 7.5% (limit 1%)" in result["cause"]
    assert [(c.name, c.phase, c.passed, c.message) for c in operations.check_results(operations.history(demo.sfn, arn))] == [
        ("error-rate", "hold", False, "error rate 7.5% (limit 1%)")]
    assert "Rolled back: public rules back on the old version (1 of 1)" in result["cause"]
    assert_v1_serves_as_before(demo)
    assert_torn_down(demo, "web-2")
    assert lock_item(demo) is None


def test_a_check_function_that_does_not_exist_fails_the_check_as_on_aws(demo):
    # Given a Lambda check naming a function nobody deployed (but that the stack would let it invoke)
    config = config_with(demo, verify=[lambda_check("ghost", check_function_arn("check-ghost"), ["prepared"])])

    # When v2 is released
    result = finish(demo, start(demo, "2", config))

    # Then Lambda's ResourceNotFoundException fails the check, and the release is undone before traffic moves
    assert result["error"] == "VerificationFailed", result.get("cause")
    assert "was not invoked: ResourceNotFoundException" in result["cause"]
    assert_v1_serves_as_before(demo)
    assert_torn_down(demo, "web-2")


def test_a_check_function_the_stack_does_not_list_is_refused_by_iam(demo):
    # Given a Lambda check on a function outside the stack's check_function_arns (check-*)
    other = demo.engine.add_function("billing-report", lambda event, context: {"passed": True, "message": "ok"})
    config = config_with(demo, verify=[lambda_check("report", other, ["prepared"])])

    # When v2 is released
    result = finish(demo, start(demo, "2", config))

    # Then the invoke is denied, the check fails saying how to allow it, and nothing is left behind
    assert result["error"] == "VerificationFailed", result.get("cause")
    assert "AccessDeniedException" in result["cause"] and "check_function_arns" in result["cause"]
    assert_torn_down(demo, "web-2")


def test_a_check_function_that_raises_or_answers_badly_fails_the_check(demo):
    def broken(event, context):
        raise RuntimeError("database unreachable")

    crash = demo.engine.add_function("check-crash", broken)
    vague = demo.engine.add_function("check-vague", lambda event, context: "looks fine")
    config = config_with(demo, verify=[lambda_check("crash", crash, ["prepared"]), lambda_check("vague", vague, ["prepared"])])

    result = finish(demo, start(demo, "2", config))

    assert result["error"] == "VerificationFailed", result.get("cause")
    assert "crash FAILED: the function failed (Unhandled): RuntimeError: database unreachable" in result["cause"]
    assert "vague FAILED: the function answered 'looks fine', not {\"passed\"" in result["cause"]


def test_a_lambda_check_slower_than_its_timeout_fails_as_timed_out_after_one_invoke(demo):
    # Given a Lambda check with a 1 s budget whose function takes 2 s
    calls = []

    def slow(event, context):
        calls.append(event["phase"])
        time.sleep(2)
        return {"passed": True, "message": "fine, eventually"}

    check = demo.engine.add_function("check-slow", slow)
    config = config_with(demo, verify=[{"name": "slow", "lambda": {"function_arn": check, "timeout_seconds": 1},
                                        "when": ["prepared"]}])

    # When v2 is released
    arn = start(demo, "2", config)
    result = finish(demo, arn)

    # Then the check failed as timed out (its late "passed" is not believed), after one invoke, and the
    # prepared version is torn down as for any failing check
    assert result["error"] == "VerificationFailed", result.get("cause")
    assert "slow FAILED: timed out: answered after 2." in result["cause"]
    assert "over its timeout_seconds (1 s)" in result["cause"]
    assert calls == ["prepared"]
    assert_torn_down(demo, "web-2")
    assert_v1_serves_as_before(demo)


@pytest.mark.parametrize("verify, message", [
    ([{"name": "smoke"}], "release.verify.0.http: check 'smoke' needs one of http"),
    ([{"name": "a", "http": {"url": "http://x/"}}, {"name": "a", "http": {"url": "http://y/"}}],
     "check names must be unique; rename a"),
    ([{"name": "slow", "http": {"url": "http://x/", "timeout_seconds": 30, "attempts": 3}}],
     "could take 92 s when every one times out"),
    ([{"name": "slow", "http": {"url": "http://x/", "timeout_seconds": 10, "attempts": 2}},
      {"name": "fn", "lambda": {"function_arn": check_function_arn("check-fn"), "timeout_seconds": 20}}],
     "the prepared checks (slow, fn) could take 43 s when every one times out"),
    ([{"name": "fn", "lambda": {"function_arn": "contract-tests"}}], "release.verify.0.lambda.function_arn"),
])
def test_bad_verify_config_is_refused_before_anything_changes(demo, verify, message):
    result = finish(demo, start(demo, "2", config_with(demo, verify=verify)))

    assert result["error"] == "InvalidReleaseInput", result.get("cause")
    assert message in result["cause"]
    assert entered(demo, result["executionArn"])[-1] == "The release input is invalid"
    assert demo.service("web-2") is None and "demo-web-2" not in demo.target_group_names()


def test_the_same_release_started_again_once_the_check_passes_succeeds(demo, endpoint):
    # Given a release undone because its prepared check failed
    endpoint.status = 500
    config = config_with(demo, verify=[http_check(endpoint, ["prepared", "hold"])])
    assert finish(demo, start(demo, "2", config))["error"] == "VerificationFailed"

    # When the check's URL is fixed and the same release is started again
    endpoint.status = 200
    again = start(demo, "2", config, name="release-2-again")
    result = finish(demo, again)

    # Then it succeeds: v2 serves alone, and its checks passed on the prepared version and the holds
    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert demo.forward(demo.public_rule) == {"demo-web-2": 1}
    assert {(c.phase, c.passed) for c in operations.check_results(operations.history(demo.sfn, again))} == {
        ("prepared", True), ("hold", True)}
    assert lock_item(demo) is None


def test_the_approval_request_says_what_the_prepared_checks_found(demo, endpoint):
    # Given a manual approval after a prepared check
    config = config_with(demo, approval={"mode": "manual", "timeout_seconds": 600},
                         verify=[http_check(endpoint, ["prepared"])])
    queue = subscribe_queue(demo)

    # When v2 is released and an operator approves
    description = demo.release("2", config=config)

    # Then the approval request listed the check and its finding, before anyone approved
    assert description["status"] == "SUCCEEDED"
    (request,) = [m for m in notifications(demo, queue) if "ready for approval" in m["Subject"]]
    assert json.loads(request["Message"])["checks"] == [{"name": "smoke", "message": f"{endpoint.url()} answered 200"}]
