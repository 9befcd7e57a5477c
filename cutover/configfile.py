"""Read a deploy config file (YAML or JSON) and validate it offline, one problem per line."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from release.config import DeployConfig, format_validation_error
from release.errors import InvalidReleaseInput
from release.steps.load import parse_config_text


@dataclass
class Checked:
    path: str
    data: dict[str, Any] | None = None
    config: DeployConfig | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.config is not None


class _OneProblem:
    """Lets the release's own formatter word each problem on its own line."""

    def __init__(self, problem: dict[str, Any]):
        self._problem = problem

    def errors(self) -> list[dict[str, Any]]:
        return [self._problem]


def check(path: str) -> Checked:
    checked = Checked(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as error:
        checked.problems.append(f"{path}: cannot read it ({error})")
        return checked
    try:
        checked.data = parse_config_text(text, path)
    except InvalidReleaseInput as error:
        checked.problems.append(str(error))
        return checked
    try:
        checked.config = DeployConfig.model_validate(checked.data)
    except ValidationError as error:
        checked.problems.extend(format_validation_error(_OneProblem(p)) for p in error.errors())
    return checked
