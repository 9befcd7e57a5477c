"""Read a deploy config file (YAML or JSON) for one env, resolve its references, and validate it,
one problem per line. Offline (no AWS client), SSM and CloudFormation references are left for
`plan` and `start` to resolve, and the fields that hold them are not checked."""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from cutover_steps.config.models import DeployConfig, format_validation_error
from cutover_steps.errors import InvalidReleaseInput
from cutover_steps.config import environments
from cutover_steps.config.text import parse_config_text

from cutover.operations import references


@dataclass
class Checked:
    path: str
    data: dict[str, Any] | None = None
    config: DeployConfig | None = None
    problems: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    """Fields holding references only AWS can resolve, left unchecked offline."""

    @property
    def valid(self) -> bool:
        """No problem; offline, fields that only AWS can resolve are left to `plan` and `start`."""
        return not self.problems and (self.config is not None or bool(self.deferred))


class _OneProblem:
    """Lets the release's own formatter word each problem on its own line."""

    def __init__(self, problem: dict[str, Any]):
        self._problem = problem

    def errors(self) -> list[dict[str, Any]]:
        return [self._problem]


def environment_names(path: str) -> list[str]:
    """The envs the file names under `environments` (none when it has no such key, or cannot be read)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = parse_config_text(f.read(), path)
    except (OSError, UnicodeDecodeError, InvalidReleaseInput):
        return []
    layers = data.get(environments.KEY)
    return sorted(layers) if isinstance(layers, dict) else []


def check(path: str, env: str | None = None, client: Callable[[str], Any] | None = None) -> Checked:
    """The file as a release to `env` reads it; `client` makes AWS clients for references (None: offline)."""
    checked = Checked(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as error:
        checked.problems.append(f"{path}: cannot read it ({error})")
        return checked
    try:
        data = parse_config_text(text, path)
        if env is not None:
            data = environments.for_env(data, env)
        data = references.resolve(data, client) if client else _resolve_offline(data, checked)
    except InvalidReleaseInput as error:
        checked.problems.append(str(error))
    except references.Unresolved as error:
        checked.problems.extend(error.problems)
    if checked.problems:
        return checked
    checked.data = data
    try:
        checked.config = DeployConfig.model_validate(data)
    except ValidationError as error:
        deferred = [d.split(": ", 1)[0] for d in checked.deferred]
        for problem in (format_validation_error(_OneProblem(p)) for p in error.errors()):
            where = problem.split(": ", 1)[0]
            if not any(where == d or where.startswith(d + ".") for d in deferred):
                checked.problems.append(problem)
    return checked


def _resolve_offline(data: dict[str, Any], checked: Checked) -> dict[str, Any]:
    """${env:} from this environment; SSM and CloudFormation references are kept, and noted."""

    def value_of(where: str, kind: str, name: str) -> str:
        if kind != "env":
            checked.deferred.append(f"{where}: ${{{kind}:{name}}}")
            return f"${{{kind}:{name}}}"
        if name not in os.environ:
            checked.problems.append(f"{where}: ${{env:{name}}} is not set: export {name}, or put the value in the file")
            return ""
        return os.environ[name]

    return environments.substitute(data, value_of)
