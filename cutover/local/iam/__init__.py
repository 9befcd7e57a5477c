"""IAM enforced in the local engine: every AWS call a release step makes is authorized against its
function's role in the synthesized stack, and refused the way AWS refuses it.

The step that runs is known through a context variable (steps run on several interpreter threads
at once); a botocore hook on the steps' clients (cutover_steps.adapters.clients) derives what AWS would authorize for
each call (requests.py), evaluates it (evaluation.py) against the role's statements
(policies.json) and raises AWS's access-denied error before the call is sent. Every permission
that was used is remembered, and written to $CUTOVER_IAM_USAGE_DIR when set, so the test suite
can find grants that nothing uses.
"""
from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from botocore.exceptions import ClientError

from cutover.local.iam import policies
from cutover.local.iam.evaluation import Request, decide
from cutover.local.iam.requests import Account, iam_action, requests_for

USAGE_DIR = "CUTOVER_IAM_USAGE_DIR"

# The refusal each service returns (its API reference, "Common errors"): query-protocol services
# answer AccessDenied, JSON ones AccessDeniedException, SNS AuthorizationError.
ACCESS_DENIED = {
    "ecs": ("AccessDeniedException", 400),
    "dynamodb": ("AccessDeniedException", 400),
    "application-autoscaling": ("AccessDeniedException", 400),
    "stepfunctions": ("AccessDeniedException", 400),
    "elbv2": ("AccessDenied", 403),
    "cloudwatch": ("AccessDenied", 403),
    "iam": ("AccessDenied", 403),
    "sts": ("AccessDenied", 403),
    "s3": ("AccessDenied", 403),
    "sns": ("AuthorizationError", 403),
    "resourcegroupstaggingapi": ("AccessDeniedException", 400),
    "lambda": ("AccessDeniedException", 403),
}

_running: ContextVar[str | None] = ContextVar("cutover_running_step", default=None)
# (principal name, its statements): calls made outside a step, by someone holding that policy.
_acting: ContextVar[tuple[str, list[dict[str, Any]]] | None] = ContextVar("cutover_acting_as", default=None)
# Actions AWS authorizes for any caller whatever its policies say (STS API reference, GetCallerIdentity).
NEEDS_NO_PERMISSION = {"sts:GetCallerIdentity"}
_lock = threading.Lock()
used: set[tuple[str, str]] = set()
"""(step key, IAM action) pairs this process has been allowed."""


@contextlib.contextmanager
def running(step_key: str | None) -> Iterator[None]:
    """AWS calls made inside are made with `step_key`'s function role (None: no release step's, not checked)."""
    token = _running.set(step_key)
    try:
        yield
    finally:
        _running.reset(token)


@contextlib.contextmanager
def acting_as(name: str, document: dict[str, Any]) -> Iterator[None]:
    """Calls made inside, outside any step, on clients under enforcement, are made by `name` holding `document`."""
    token = _acting.set((name, list(document["Statement"])))
    try:
        yield
    finally:
        _acting.reset(token)


def _account() -> Account:
    data = policies.load()
    return Account(data["partition"], data["region"], data["account"])


def authorize(step_key: str, service: str, action: str, params: dict[str, Any]) -> None:
    """Raise the ClientError AWS would return if `step_key`'s role may not make this call."""
    function = policies.load()["functions"][step_key]
    for request in requests_for(action, params, _account()):
        decision = decide(function["statements"], request)
        if decision != "Allow":
            raise _refusal(step_key, function["role"], service, action, request, decision)
        _record(step_key, request.action)


def authorize_principal(name: str, statements: list[dict[str, Any]], service: str, action: str,
                        params: dict[str, Any]) -> None:
    """Raise the ClientError AWS would return if `name`, holding `statements`, may not make this call."""
    if action in NEEDS_NO_PERMISSION:
        return
    for request in requests_for(action, params, _account()):
        decision = decide(statements, request)
        if decision != "Allow":
            raise _refusal(name, name, service, action, request, decision)


def _refusal(step_key: str, role: str, service: str, operation: str, request: Request, decision: str) -> ClientError:
    if service not in ACCESS_DENIED:
        raise LookupError(f"no access-denied error is known for {service}: add it to {__name__}.ACCESS_DENIED")
    code, status = ACCESS_DENIED[service]
    because = ("with an explicit deny in an identity-based policy" if decision == "ExplicitDeny"
               else f"because no identity-based policy allows the {request.action} action")
    account = _account().account
    session = f"cutover-{step_key}" if step_key != role else "cli"
    message = (f"User: arn:aws:sts::{account}:assumed-role/{role}/{session} is not authorized to perform: "
               f"{request.action} on resource: {request.resource} {because}")
    if request.refused_as:
        code, status = request.refused_as, 400
        message = f"{request.why}: missing permission {request.action}. {message}"
    elif request.why:
        message += f" ({request.why})"
    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, operation.split(":", 1)[1])


def _record(step_key: str, action: str) -> None:
    pair = (step_key, action)
    if pair in used:
        return
    with _lock:
        if pair in used:
            return
        used.add(pair)
        directory = os.environ.get(USAGE_DIR)
        if directory:
            with open(os.path.join(directory, f"{os.getpid()}.jsonl"), "a", encoding="utf-8") as out:
                out.write(json.dumps(pair) + "\n")


def _before_call(params: dict[str, Any], model: Any, **_: Any) -> None:
    step_key = _running.get()
    service, action = model.service_model.service_name, iam_action(model.service_model, model.name)
    if step_key is None:
        acting = _acting.get()
        if acting is not None:
            authorize_principal(*acting, service, action, params)
        return  # else not a release step: the test itself, the data plane or the command line
    authorize(step_key, service, action, params)


def enforce_on(client: Any) -> None:
    """Check every call of `client` made while a step runs (cutover_steps.adapters.clients calls this on each new client)."""
    client.meta.events.register("before-parameter-build", _before_call, unique_id="cutover-local-iam")


def usage_in(directory: str) -> set[tuple[str, str]]:
    """Every (step key, action) pair recorded in `directory` by any process."""
    found: set[tuple[str, str]] = set()
    for name in os.listdir(directory):
        with open(os.path.join(directory, name), encoding="utf-8") as f:
            found |= {tuple(json.loads(line)) for line in f if line.strip()}
    return found
