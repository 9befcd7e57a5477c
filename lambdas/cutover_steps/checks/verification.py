"""Verification checks (`release.verify`): run the configured HTTP and Lambda checks of one phase.

`prepared` checks run once the new version is healthy, before approval; `hold` checks at every
alarm look during traffic holds and the bake. Checks of a phase run one after the other, in the
step's own thread (its IAM role and faults follow the thread). Each result is {name, kind, passed, message, phase}; the
caller fails the release (VerificationFailed) when any did not pass.
"""
from __future__ import annotations

import functools
import json
import time
from typing import Any

from cutover_steps.adapters import functions
from cutover_steps.config.rules import LAMBDA_READ_MARGIN_SECONDS
from cutover_steps.errors import VerificationFailed
from cutover_steps.plan.view import PlanView as Plan, View
from cutover_steps.results import CHECKS_MARKER, checks_of, describe_checks
from cutover_steps.runtime.earlier_results import EarlierResults

# A message is shown in the history and notifications; the state data must stay small.
MAX_MESSAGE = 500
RETRY_PAUSE_SECONDS = 1.0


@functools.cache
def _opener() -> Any:
    # Imported on the first HTTP check: the alarm look of every hold imports this module.
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        """The check compares the status the URL itself answers: a redirect is not followed."""

        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    return urllib.request.build_opener(NoRedirect)


def context(plan: Plan, results: EarlierResults | dict[str, Any], phase: str, execution_id: str) -> dict[str, Any]:
    """What a Lambda check is invoked with."""
    results = EarlierResults.of(results)
    groups = results.target_groups.target_groups or []
    return {
        "phase": phase, "service": plan.service, "env": plan.env, "version": plan.version,
        "release_id": plan.release_id, "execution": execution_id,
        "target_groups": [{"name": g.get("name"), "arn": g.get("arn")} for g in groups],
        "preparing_urls": [r.route.preparing_url for r in plan.routes if r.route.preparing_url],
        **({"percent": results.traffic.percent} if phase == "hold" and "traffic" in results else {}),
    }


def _status_of(url: str, timeout: int) -> tuple[int | None, str]:
    import urllib.error
    import urllib.request

    try:
        with _opener().open(urllib.request.Request(url, method="GET"), timeout=timeout) as response:
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, ""
    except (urllib.error.URLError, OSError, ValueError) as error:
        return None, str(getattr(error, "reason", error))


def run_http(check: View) -> tuple[bool, str]:
    seen: list[str] = []
    for attempt in range(check.attempts):
        if attempt:
            time.sleep(RETRY_PAUSE_SECONDS)
        status, problem = _status_of(check.url, check.timeout_seconds)
        if status == check.expect_status:
            return True, f"{check.url} answered {status}" + (f" at attempt {attempt + 1}" if attempt else "")
        seen.append(str(status) if status is not None else problem)
    return False, f"{check.url}: expected {check.expect_status}, got {', '.join(seen)} in {check.attempts} attempt(s)"


def run_lambda(check: View, payload: dict[str, Any]) -> tuple[bool, str]:
    try:
        error, answer = functions.invoke(check.function_arn, payload, check.timeout_seconds, LAMBDA_READ_MARGIN_SECONDS)
    except functions.TimedOut as late:
        # A check that cannot say in time has not passed: the release is undone as for a failing one.
        return False, f"timed out: {late}, over its timeout_seconds ({check.timeout_seconds} s)"
    except functions.InvokeRefused as refused:
        fix = ("; list the function in the stack's check_function_arns (cutover:checkFunctionArns)"
               if "AccessDenied" in refused.code else "")
        return False, f"{check.function_arn} was not invoked: {refused}{fix}"
    if error:
        report = answer if isinstance(answer, dict) else {}
        return False, (f"the function failed ({error}): {report.get('errorType', '')}: "
                       f"{report.get('errorMessage', answer)}")
    if not isinstance(answer, dict) or not isinstance(answer.get("passed"), bool):
        return False, f'the function answered {str(answer)[:200]!r}, not {{"passed": true|false, "message": "…"}}'
    return answer["passed"], str(answer.get("message") or ("passed" if answer["passed"] else "failed"))


def run_one(check: View, phase: str, payload: dict[str, Any]) -> dict[str, Any]:
    if check.http is not None:
        passed, message = run_http(check.http)
    else:
        passed, message = run_lambda(check.lambda_, {**payload, "check": check.name})
    return {"name": check.name, "kind": "http" if check.http is not None else "lambda", "passed": passed,
            "message": message[:MAX_MESSAGE], "phase": phase}


def run(plan: Plan, results: EarlierResults | dict[str, Any], phase: str, execution_id: str) -> list[dict[str, Any]]:
    """Every check of `phase`, in the config's order."""
    checks = plan.config.release.checks(phase)
    if not checks:
        return []
    payload = context(plan, results, phase, execution_id)
    return [run_one(check, phase, payload) for check in checks]


def summary(checks: list[dict[str, Any]]) -> str:
    return describe_checks(checks_of(checks))


def require_passed(checks: list[dict[str, Any]], where: str) -> None:
    failed = [c for c in checks if not c["passed"]]
    if failed:
        raise VerificationFailed(f"verification failed {where}: {summary(failed)}"
                                 + (f" (passed: {', '.join(c['name'] for c in checks if c['passed'])})"
                                    if len(failed) < len(checks) else "")
                                 + CHECKS_MARKER + json.dumps(checks, separators=(",", ":")))

