"""Resolve a deploy config's `${env:NAME}`, `${ssm:/path}` and `${cfn:STACK.OUTPUT}` references at
`plan`, `start` and `render`, with the caller's credentials: each unresolved one is named with its field."""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from cutover_steps.config import environments

from cutover.aws import lookups, stacks
from cutover.exits import AwsError


class Unresolved(Exception):
    """References that could not be resolved, one problem per line."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def resolve(data: dict[str, Any], client: Callable[[str], Any] | None,
            environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The config with every reference replaced; `client(name)` makes AWS clients (None: offline)."""
    problems: list[str] = []
    cache: dict[tuple[str, str], str] = {}

    def value_of(path: str, kind: str, name: str) -> str:
        key = (kind, name)
        if key not in cache:
            try:
                cache[key] = _lookup(kind, name, client, environ)
            except LookupError as error:
                problems.append(f"{path}: ${{{kind}:{name}}} {error}")
                cache[key] = ""
        return cache[key]

    resolved = environments.substitute(data, value_of)
    if problems:
        raise Unresolved(problems)
    return resolved


def _lookup(kind: str, name: str, client: Callable[[str], Any] | None, environ: Mapping[str, str]) -> str:
    if kind == "env":
        if name not in environ:
            raise LookupError(f"is not set: export {name}, or put the value in the file")
        return environ[name]
    if client is None:
        raise LookupError("needs AWS: it is resolved by `cutover plan`, `start` and `render`")
    try:
        if kind == "ssm":
            parameter = lookups.parameter(client("ssm"), name)
            if parameter["Type"] == "SecureString":
                # It would be written in clear into the start input and the execution history.
                raise LookupError("is a SecureString: give secrets to containers with secrets: value_from instead")
            return parameter["Value"]
        stack, _, output = name.rpartition(".")
        if not stack or not output:
            raise LookupError("must be ${cfn:STACK.OUTPUT}")
        outputs = stacks.outputs(client("cloudformation"), stack)
        for found in outputs:
            if found["OutputKey"] == output:
                return found["OutputValue"]
        raise LookupError(f"stack {stack} has no output {output} (it has {', '.join(o['OutputKey'] for o in outputs) or 'none'})")
    except AwsError as error:
        raise LookupError(f"cannot be read: {error.detail}") from error
