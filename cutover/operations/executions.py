"""What people and scripts do with releases, against AWS or the local engine alike: start,
follow, approve or reject (the task token is found in the execution history), read history.
"""
from __future__ import annotations

import getpass
import hashlib
import json
import os
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from cutover_steps.registry import ANALYSIS_QUESTION
from cutover_steps.results import ApprovalAnswer, Check, StepResult, checks_of, split_message
from cutover_steps.decisions.stop_record import STOPPED_BY_OPERATOR, StopRecord

from cutover.definition import states
from cutover.aws import step_functions
from cutover.exits import NotFound, UsageError

# The states that wait for an operator's answer: the approval of the prepared version, and the question
# of a hold whose canary analysis ended inconclusive (`release.analysis.inconclusive: ask`).
ANSWER_STATES = frozenset(states.answer_waits())
(APPROVAL_STATE,) = [state for state, question in states.answer_waits().items() if question is None]
(ANALYSIS_QUESTION_STATE,) = [state for state, question in states.answer_waits().items() if question == ANALYSIS_QUESTION]
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


def start(sfn, state_machine_arn: str, start_input: dict[str, Any], name: str) -> str:
    return step_functions.start(sfn, state_machine_arn, start_input, name)


def history(sfn, execution_arn: str) -> list[dict[str, Any]]:
    return step_functions.history(sfn, execution_arn)


def current_state(events: list[dict[str, Any]]) -> str | None:
    """The state entered last and not exited yet."""
    open_state = None
    for event in events:
        if event["type"].endswith("StateEntered"):
            open_state = event["stateEnteredEventDetails"]["name"]
        elif event["type"].endswith("StateExited") and open_state == event["stateExitedEventDetails"]["name"]:
            open_state = None
    return open_state


def since_last_state(sfn, execution_arn: str) -> list[dict[str, Any]]:
    """The execution's events from the last state entered on, oldest first, read newest first: all
    that `current_state` and `pending_approval` look at, without reading the whole history."""
    events = step_functions.newest_events(
        sfn, execution_arn, enough=lambda read: any(e["type"].endswith("StateEntered") for e in read))
    return events[::-1]


def state_now(sfn, execution_arn: str) -> str | None:
    """`current_state` of the execution, from its events since the last state entered."""
    return current_state(since_last_state(sfn, execution_arn))


def pending_task_token(sfn, execution_arn: str) -> str | None:
    """The task token of the answer the execution waits on now (an approval, or whether the new version
    goes on after an inconclusive analysis), from its TaskScheduled event.

    Only once the approval request was sent (TaskSubmitted): before that the task is not waiting
    yet, and moto's interpreter loses a decision sent that early.
    """
    return pending_approval(since_last_state(sfn, execution_arn))[0]


def pending_approval(events: list[dict[str, Any]]) -> tuple[str | None, Any]:
    """(token, when the request was sent) of the operator's answer waited for now, or (None, None)."""
    if current_state(events) not in ANSWER_STATES:
        return None, None
    submitted_at = None
    for event in reversed(events):
        if event["type"] == "TaskSubmitted":
            submitted_at = event["timestamp"]
        if event["type"] == "TaskScheduled":
            parameters = json.loads(event["taskScheduledEventDetails"]["parameters"])
            token = parameters.get("Payload", {}).get("task_token")
            if token and submitted_at is not None:
                return token, submitted_at
            return None, None
        if event["type"] == "TaskStateEntered":
            break
    return None, None


def release_plan(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The plan LoadRelease made (as the history holds it), or {} before it has run."""
    (load_state,) = states.of_step("LoadRelease")
    planned = states.read(load_state, latest_results(events).get(load_state))
    return planned.plan if planned else {}


def approval_wait(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The operator's answer the execution waits for now: since when, until when (the state's timeout,
    after which the prepared version is torn down, or traffic rolled back), and the preparing URLs to
    try; for the question of an inconclusive analysis (`question`: "analysis"), what was asked and the
    scorecard instead. None when it waits for none."""
    token, since = pending_approval(events)
    if not token:
        return None
    plan = release_plan(events)
    timeout = (((plan.get("config") or {}).get("release") or {}).get("approval") or {}).get("timeout_seconds")
    until = since + timedelta(seconds=timeout) if timeout else None
    wait = {"since": since, "until": until, "timeout_seconds": timeout}
    if current_state(events) == ANALYSIS_QUESTION_STATE:
        return {**wait, "question": ANALYSIS_QUESTION, "asked": analysis_question(events),
                "analysis": analysis_scorecard(events), "preparing_urls": []}
    routes = [r.get("route") or {} for r in plan.get("routes") or []]
    return {**wait, "question": None,
            "preparing_urls": [{"route": r.get("name"), "url": r["preparing_url"]} for r in routes if r.get("preparing_url")]}


def _decide(sfn, execution_arn: str, decision: dict[str, Any], timeout: float = 0) -> str | None:
    """Send the answer to the wait of now; the question it answers (None: the approval of the prepared version)."""
    deadline = time.time() + timeout
    while True:
        events = since_last_state(sfn, execution_arn)
        token, _ = pending_approval(events)
        if token:
            if not step_functions.answer(sfn, token, decision):
                # The wait ended between reading its token and answering: stopped, timed out or answered.
                status = step_functions.describe(sfn, execution_arn)["status"]
                raise NotFound(f"{execution_arn} is not waiting for approval any more (status {status}: "
                                     f"it was stopped, timed out or answered meanwhile)")
            return states.answer_waits().get(current_state(events))
        status = step_functions.describe(sfn, execution_arn)["status"]
        if status != "RUNNING" or time.time() >= deadline:
            raise NotFound(
                f"{execution_arn} is not waiting for approval (status {status}, state "
                f"{state_now(sfn, execution_arn) or '-'})"
            )
        time.sleep(0.2)


def decision(kind: str, *, by: str | None, identity: str | None, **details: str) -> dict[str, Any]:
    """What an approval or rejection records: the name the person gave and the AWS identity that sent it.

    `by` joins both, so the definition's messages (a rejection's cause, its notification) show the
    verified identity beside the free-form name; `name` and `identity` keep them apart for scripts.
    """
    name = by or getpass.getuser()
    return ApprovalAnswer(decision=kind, by=f"{name} ({identity})" if identity else name, name=name, identity=identity,
                          **details).to_json()


def approve(sfn, execution_arn: str, *, by: str | None = None, identity: str | None = None, comment: str = "",
            wait_seconds: float = 0) -> str | None:
    """Approve the prepared version, or let the new version go on after an inconclusive analysis; which question it answered."""
    return _decide(sfn, execution_arn, decision("approve", by=by, identity=identity, comment=comment), wait_seconds)


def reject(sfn, execution_arn: str, *, reason: str, by: str | None = None, identity: str | None = None,
           wait_seconds: float = 0) -> str | None:
    """Reject the prepared version, or roll traffic back after an inconclusive analysis; which question it answered."""
    if not reason.strip():
        raise UsageError("--reason: say why the release is rejected; it goes into the audit history")
    return _decide(sfn, execution_arn, decision("reject", by=by, identity=identity, reason=reason), wait_seconds)


def stop(sfn, execution_arn: str, record: StopRecord) -> dict[str, Any]:
    """Stop a running release, recording why and who in StopExecution's error and cause; its undo
    (the undo of stopped releases) starts from the status change. The execution as it ended."""
    status = step_functions.describe(sfn, execution_arn)["status"]
    if status != "RUNNING":
        raise NotFound(f"{execution_arn} is not running (status {status}): there is nothing to stop")
    step_functions.stop(sfn, execution_arn, STOPPED_BY_OPERATOR, record.cause())
    return step_functions.describe(sfn, execution_arn)


def wait(sfn, execution_arn: str, timeout: float = 600, poll: float = 0.2) -> dict[str, Any]:
    deadline = time.time() + timeout
    while True:
        description = step_functions.describe(sfn, execution_arn)
        if description["status"] in TERMINAL or time.time() >= deadline:
            return description
        time.sleep(poll)


def wait_for_state(sfn, execution_arn: str, state: str, timeout: float = 120) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if state_now(sfn, execution_arn) == state:
            return True
        if step_functions.describe(sfn, execution_arn)["status"] in TERMINAL:
            return False
        time.sleep(0.2)
    return False


# -- reading the history ------------------------------------------------------------------------

_SUCCEEDED_DETAILS = {
    "LambdaFunctionSucceeded": "lambdaFunctionSucceededEventDetails",
    "TaskSucceeded": "taskSucceededEventDetails",
}
_FAILED_DETAILS = {
    "LambdaFunctionFailed": "lambdaFunctionFailedEventDetails",
    "LambdaFunctionTimedOut": "lambdaFunctionTimedOutEventDetails",
    "TaskFailed": "taskFailedEventDetails",
    "TaskTimedOut": "taskTimedOutEventDetails",
    "ExecutionFailed": "executionFailedEventDetails",
    "ExecutionTimedOut": "executionTimedOutEventDetails",
    "ExecutionAborted": "executionAbortedEventDetails",
}


def _loads(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def step_results(events: list[dict[str, Any]]) -> Iterator[tuple[str, Any]]:
    """(state name, what the step returned) for every task step, in order.

    Lambda steps whose Resource is the function ARN report LambdaFunctionSucceeded; service
    integrations (the approval's task token, SNS) report TaskSucceeded.
    """
    state: str | None = None
    for event in events:
        if event["type"].endswith("StateEntered"):
            state = event["stateEnteredEventDetails"]["name"]
        elif event["type"] in _SUCCEEDED_DETAILS and state:
            yield state, _loads(event[_SUCCEEDED_DETAILS[event["type"]]].get("output"))


def timeline(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per state visited: name, type, entered/exited times, result and error if any."""
    entries: list[dict[str, Any]] = []
    open_entry: dict[str, Any] | None = None
    for event in events:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            open_entry = {
                "state": event["stateEnteredEventDetails"]["name"],
                "type": kind[: -len("StateEntered")],
                "entered": event["timestamp"],
                "exited": None,
                "result": None,
                "error": None,
            }
            entries.append(open_entry)
        elif kind.endswith("StateExited") and open_entry is not None:
            open_entry["exited"] = event["timestamp"]
        elif kind in _SUCCEEDED_DETAILS and open_entry is not None:
            open_entry["result"] = _loads(event[_SUCCEEDED_DETAILS[kind]].get("output"))
        elif kind in _FAILED_DETAILS and open_entry is not None and not kind.startswith("Execution"):
            details = event.get(_FAILED_DETAILS[kind]) or {}
            open_entry["error"] = {"error": details.get("error"), "cause": readable_cause(details.get("cause"))}
        elif kind.startswith("Execution") and kind != "ExecutionStarted" and entries and entries[-1]["exited"] is None:
            # The last state of an ended execution (Succeed, Fail) has no exit event of its own.
            entries[-1]["exited"] = event["timestamp"]
    return entries


def execution_failure(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The execution's error and cause, when it ended badly."""
    for event in reversed(events):
        kind = event["type"]
        if kind.startswith("Execution") and kind in _FAILED_DETAILS:
            details = event.get(_FAILED_DETAILS[kind]) or {}
            stopped = StopRecord.of_abort(details.get("error"), details.get("cause"))
            return {"status": kind[len("Execution"):].upper(), "error": details.get("error"),
                    "cause": stopped.describe() if stopped else readable_cause(details.get("cause"))}
    return None


def readable_cause(cause: str | None) -> str | None:
    """A Lambda error's cause is its JSON report; people need its message, not the stack trace."""
    try:
        report = json.loads(cause or "")
    except ValueError:
        return cause
    if isinstance(report, dict) and "errorMessage" in report:
        return split_message(str(report["errorMessage"]))[0]
    return cause


def unfinished_work(description: dict[str, Any]) -> list[dict[str, str]]:
    """What a succeeded release left for the next one (its warnings), from the execution's output."""
    from cutover_steps.decisions import unfinished

    output = _loads(description.get("output")) if description.get("status") == "SUCCEEDED" else None
    return unfinished.describe(output.get("warnings"), states.by_result_key()) if isinstance(output, dict) else []


def latest_results(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The last result of each state, by state name: what a live view shows."""
    return dict(step_results(events))


def latest_by_type(events: list[dict[str, Any]]) -> dict[type[StepResult], StepResult]:
    """The last result of each result type, read through the registry: what the release did."""
    found: dict[type[StepResult], StepResult] = {}
    for state, output in step_results(events):
        result = states.read(state, output)
        if result is not None:
            found[type(result)] = result
    return found


def check_results(events: list[dict[str, Any]]) -> list[Check]:
    """The last result of each verification check in each phase it ran in, read through the steps' result types."""
    found: dict[tuple[str, str], Check] = {}
    state: str | None = None
    for event in events:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            state = event["stateEnteredEventDetails"]["name"]
        elif kind in _SUCCEEDED_DETAILS and state:
            result = states.read(state, _loads(event[_SUCCEEDED_DETAILS[kind]].get("output")))
            for check in result.verification_checks() if result else []:
                found[(check.name, check.phase)] = check
        elif kind in _FAILED_DETAILS and not kind.startswith("Execution"):
            # A failing check fails its step: its results are in the step's error.
            for check in checks_of(failed_checks((event.get(_FAILED_DETAILS[kind]) or {}).get("cause"))):
                found[(check.name, check.phase)] = check
    return list(found.values())


def failed_checks(cause: str | None) -> list[dict[str, Any]]:
    """The checks a failed step's error carries (a Lambda error's cause is its JSON report)."""
    try:
        report = json.loads(cause or "")
    except ValueError:
        return []
    if not isinstance(report, dict) or "errorMessage" not in report:
        return []
    return split_message(str(report["errorMessage"]))[1]
def analysis_scorecard(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The canary judge's last scorecard (release.analysis), read through the steps' result types."""
    found = None
    for state, output in step_results(events):
        result = states.read(state, output)
        found = (result.scorecard() if result else None) or found
    return found


def analysis_question(events: list[dict[str, Any]]) -> str | None:
    """What the hold's watch asked an operator last (`inconclusive: ask`), in words, or None."""
    found = None
    for state, output in step_results(events):
        result = states.read(state, output)
        found = (result.question() if result else None) or found
    return found


def approval_answer(events: list[dict[str, Any]], state: str = APPROVAL_STATE) -> dict[str, Any] | None:
    """The answer the approval's task token came back with, as the execution history holds it:
    `{"decision", "by", "name", "identity", "comment" | "reason"}` (an answer sent from the console
    may hold less), or None when nobody answered. `state`: the answer of another state that asks
    (the last one, when it asked more than once)."""
    answer = latest_results(events).get(state)
    return answer if ApprovalAnswer.from_json(answer) else None


def analysis_answer(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The last answer to the question of an inconclusive analysis: whether the new version went on, and who said so."""
    return approval_answer(events, ANALYSIS_QUESTION_STATE)


# -- names and starting ------------------------------------------------------------------------

EXECUTION_NAME_MAX = 80
CI_RUN_VARIABLES = (
    "GITHUB_RUN_ID", "CI_PIPELINE_ID", "CODEBUILD_BUILD_ID", "BUILD_BUILDID", "CIRCLE_WORKFLOW_ID",
    "BUILDKITE_BUILD_ID", "BITBUCKET_BUILD_NUMBER", "BUILD_TAG",
)


def ci_run_id(environ: dict[str, str] | None = None) -> str | None:
    """The CI system's id of this run: the same when a job is retried, different for a new run."""
    environ = os.environ if environ is None else environ
    # Not GITHUB_RUN_ATTEMPT: a re-run must find the execution its first attempt started.
    return next((environ[v] for v in CI_RUN_VARIABLES if environ.get(v)), None)


def execution_name(service: str, version: str, run_id: str | None = None, now: float | None = None) -> str:
    """`{service}-{version}-{run}`: at most 80 of [A-Za-z0-9-_], the same for a retried CI job.

    Without a CI run id a timestamp stands in, so two manual starts are two releases.
    """
    run = run_id or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now if now is not None else time.time()))
    full = re.sub(r"[^A-Za-z0-9_-]+", "-", f"{service}-{version}-{run}").strip("-")
    if len(full) <= EXECUTION_NAME_MAX:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    return f"{full[: EXECUTION_NAME_MAX - len(digest) - 1].rstrip('-')}-{digest}"


# Step Functions' rule for execution names (StartExecution `name`), checked before any call.
_NAME_FORBIDDEN = re.compile(r'[\s<>{}\[\]?*"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]')


def check_execution_name(name: str) -> None:
    """Refuse a name Step Functions would refuse, saying which rule it breaks."""
    if not name:
        raise UsageError("--name: an execution name needs at least one character")
    if len(name) > EXECUTION_NAME_MAX:
        raise UsageError(f"--name: {len(name)} characters; Step Functions allows at most {EXECUTION_NAME_MAX}")
    bad = sorted(set(_NAME_FORBIDDEN.findall(name)))
    if bad:
        raise UsageError(
            f"--name {name!r}: Step Functions refuses {', '.join(repr(c) for c in bad)} in an execution name "
            "(no whitespace, brackets <>{}[], wildcards ?*, special characters \"#%\\^|~`$&,;:/ or control "
            "characters); use letters, digits, - and _"
        )


def execution_arn(state_machine_arn: str, name: str) -> str:
    prefix, _, machine = state_machine_arn.rpartition(":stateMachine:")
    if not prefix:
        raise UsageError(f"{state_machine_arn} is not a state machine ARN")
    return f"{prefix}:execution:{machine}:{name}"


ENDED_BADLY = {"FAILED", "TIMED_OUT", "ABORTED"}
MAX_ATTEMPTS = 99


def attempt_name(name: str, attempt: int) -> str:
    """The execution name of attempt `attempt` (2, 3, …) of the release first started as `name`.

    `{name}-attempt-{N}`; when that would pass 80 characters, `name` is cut and ends in a short
    hash of itself, so the same name always gives the same attempt names.
    """
    if attempt <= 1:
        return name
    suffix = f"-attempt-{attempt}"
    if len(name) + len(suffix) <= EXECUTION_NAME_MAX:
        return name + suffix
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: EXECUTION_NAME_MAX - len(suffix) - len(digest) - 1].rstrip('-')}-{digest}{suffix}"


def start_or_attach(sfn, state_machine_arn: str, start_input: dict[str, Any], name: str) -> tuple[str, bool]:
    """Start the execution, or return the one of that name when it has the same input.

    The name is the idempotency key: a retried CI job attaches to its release instead of failing
    or starting a second one (attached is True when the execution existed already). When that
    release ended FAILED, TIMED_OUT or ABORTED, the retried job starts a new attempt under the
    next attempt name instead of re-attaching to the failure; a running or succeeded one is
    followed.
    """
    check_execution_name(name)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        candidate = attempt_name(name, attempt)
        arn = execution_arn(state_machine_arn, candidate)
        existing = _existing_or_start(sfn, state_machine_arn, start_input, candidate, arn)
        if existing is None:
            return arn, False
        if _another_release(_loads(existing.get("input")), json.loads(json.dumps(start_input))):
            raise UsageError(
                f"an execution named {candidate!r} exists with a different input; give another --name "
                f"(or look at it: cutover status {candidate})"
            )
        if existing["status"] not in ENDED_BADLY:
            return arn, True
    raise UsageError(f"{MAX_ATTEMPTS} attempts of {name!r} ended without success; give another --name")


def _another_release(existing: Any, asked: dict[str, Any]) -> bool:
    """Whether the inputs ask for different releases. Who starts one does not make it another: a CI
    job retried by someone else attaches to the release its first attempt started."""
    def without_starter(given: Any) -> Any:
        return {k: v for k, v in given.items() if k != "started_by"} if isinstance(given, dict) else given

    return without_starter(existing) != without_starter(asked)


def _existing_or_start(sfn, state_machine_arn: str, start_input: dict[str, Any], name: str,
                       arn: str) -> dict[str, Any] | None:
    """DescribeExecution of `name`, or None after starting it because it did not exist."""
    for _ in range(2):
        existing = step_functions.describe_if_any(sfn, arn)
        if existing is not None:
            return existing
        if step_functions.start_unless_named(sfn, state_machine_arn, start_input, name):
            return None
        # started by someone else a moment ago: compare with that one
    raise UsageError(f"could not start or find the execution {name!r}")


def check_start_input(start_input: dict[str, Any]) -> None:
    """The start input as the release's own model reads it; UsageError naming the field, before anything starts."""
    from pydantic import ValidationError
    from cutover_steps.config.models import StartInput, format_validation_error

    try:
        StartInput.model_validate(start_input)
    except ValidationError as error:
        raise UsageError(format_validation_error(error)) from error


def rollback_input(env: str, service: str, version: str | None = None, require_approval: bool = False) -> dict[str, Any]:
    """A rollback to `version` (one the release record keeps), or to the version the last release retired;
    with `require_approval`, it waits for an operator's approval as a release does."""
    return {"action": "rollback", "env": env, "service": service, **({"version": version} if version else {}),
            **({"require_approval": True} if require_approval else {})}
