"""Synthesizes the Cutover stack once per test session, with the cdk-nag AwsSolutions checks attached."""
from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cutover.local import node_banner

node_banner.quiet()

import aws_cdk as cdk  # noqa: E402
from aws_cdk import Validations  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from cutover import ROOT  # noqa: E402
from cutover.cdk import CutoverStack  # noqa: E402

STACK_NAME = "Cutover"
REPO_ROOT = Path(ROOT)


@dataclass(frozen=True)
class Synthesized:
    outdir: Path
    template: dict[str, Any]
    validation_report: dict[str, Any]
    validation_error: str | None

    @property
    def assertions(self) -> Template:
        return Template.from_json(self.template)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template["Resources"]

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {name: r for name, r in self.resources.items() if r["Type"] == resource_type}

    def state_machines(self, *, undo: bool = False) -> dict[str, dict[str, Any]]:
        """The release's state machine (by its logical id), or the undo's (`undo`)."""
        return {name: r for name, r in self.of_type("AWS::StepFunctions::StateMachine").items()
                if str(r["Properties"].get("StateMachineName", "")).endswith("-Undo") == undo}

    def function_with_handler(self, handler: str) -> tuple[str, dict[str, Any]]:
        matches = [(name, r) for name, r in self.of_type("AWS::Lambda::Function").items()
                   if r["Properties"].get("Handler") == handler]
        assert len(matches) == 1, f"expected one function with handler {handler}, found {len(matches)}"
        return matches[0]

    def statements_of_role(self, role: str) -> list[dict[str, Any]]:
        """Every statement granted to a role, inline or through attached AWS::IAM::Policy resources."""
        statements = [s for policy in self.resources[role]["Properties"].get("Policies", [])
                      for s in policy["PolicyDocument"]["Statement"]]
        for policy in self.of_type("AWS::IAM::Policy").values():
            if {"Ref": role} in policy["Properties"].get("Roles", []):
                statements += policy["Properties"]["PolicyDocument"]["Statement"]
        return statements

    def role_of_function(self, function: dict[str, Any]) -> str:
        return function["Properties"]["Role"]["Fn::GetAtt"][0]


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The stack as `python app.py` builds it: no context, so every default applies.

    Under pytest-xdist the workers share one synthesis: the first to take the lock writes it to the
    session's common temporary directory, the others read it there.
    """
    in_worker = "PYTEST_XDIST_WORKER" in os.environ
    shared = tmp_path_factory.getbasetemp().parent if in_worker else tmp_path_factory.getbasetemp()
    outdir = shared / "cutover-cdk.out"
    with open(shared / "cutover-cdk.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (outdir / "synthesized").exists():
            _synthesize(outdir)
    error_path = outdir / "synth-error.txt"
    template_path = outdir / f"{STACK_NAME}.template.json"
    if not template_path.exists():
        pytest.fail(f"synth wrote no template: {error_path.read_text() if error_path.exists() else ''}")
    report_path = outdir / "validation-report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {"pluginReports": []}
    return Synthesized(outdir, json.loads(template_path.read_text()), report,
                       error_path.read_text() if error_path.exists() else None)


def _synthesize(outdir: Path) -> None:
    app = cdk.App(outdir=str(outdir))
    CutoverStack(app, STACK_NAME)
    # Acknowledged findings are written into resource Metadata so the tests can read their reasons.
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True))
    try:
        app.synth()
    except Exception as exc:  # cdk-nag findings fail synth; the tests report them one by one
        (outdir / "synth-error.txt").write_text(str(exc))
    (outdir / "synthesized").touch()


@pytest.fixture(scope="session")
def definition_path() -> Path:
    return REPO_ROOT / "statemachine" / "release.asl.json"
