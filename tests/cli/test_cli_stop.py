"""`cutover stop` through the sandbox, with the command line and boto3 only: a release stopped
mid-hold is undone, and every view of it says who stopped it, why, and what the undo did."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from cutover import ROOT
from tests.cli.helpers import cutover_process, sandbox_env, sandbox_process
from tests.cli.test_cli_timing import _aws, _desired, _forward, _public_rule, _status, _until

pytestmark = pytest.mark.e2e

HOLD_STATE = "Watch alarms while traffic holds"


def test_cutover_stop_undoes_a_release_mid_hold_and_status_carries_the_reason(tmp_path):
    with sandbox_process(tmp_path) as sandbox:
        rule = _public_rule(sandbox)
        path = sandbox["dir"] / "deploy.yaml"
        # Given version 2 released with no approval to wait for and a long hold at 50%, followed by `start --wait`
        path.write_text(path.read_text().replace("mode: manual", "mode: auto").replace("hold_seconds: 3", "hold_seconds: 300"))
        follower = subprocess.Popen(
            [sys.executable, "-m", "cutover", "start", "--env", "demo", "--version", "2", "--image", "web:2",
             "--config", str(path), "--name", "web-2", "--wait", "--output", "json"],
            cwd=ROOT, env=sandbox_env(sandbox), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            _until(lambda: (_status(sandbox, "web-2").get("current_state") == HOLD_STATE), 180, "version 2 holds at 50%")
            assert _forward(sandbox, rule) == {"demo-web-1": 500, "demo-web-2": 500}

            # When an operator stops it, saying why
            stopped = cutover_process(sandbox, "stop", "web-2", "--reason", "p99 latency doubled", "--by", "alice",
                                      "--output", "json")
            assert stopped.returncode == 0, stopped.stdout + stopped.stderr
            assert json.loads(stopped.stdout)["status"] == "ABORTED"

            # Then `start --wait` ends (exit 1) saying who stopped it and why, and what its undo did so far
            out, err = follower.communicate(timeout=120)
        finally:
            if follower.poll() is None:
                follower.kill()
        assert follower.returncode == 1, out + err
        ended = json.loads(out.strip().splitlines()[-1])
        assert (ended["event"], ended["status"], ended["stop"]["reason"], ended["stop"]["name"]) == \
            ("ended", "ABORTED", "p99 latency doubled", "alice")
        assert ended["undo_run"]["state"] in ("not started", "still running", "done")

        # and once the undo has run, the public rule is on version 1 only and version 2 is at zero
        status = _until(lambda: (s := _status(sandbox, "web-2"))["undo_run"]["state"] not in ("not started", "still running") and s,
                        240, "the undo ends")
        assert status["undo_run"]["state"] == "done", status
        assert _forward(sandbox, rule) == {"demo-web-1": 1}
        assert _desired(sandbox, "web-2") == 0
        # and `status --output json` carries the reason and who stopped it (the caller's AWS identity beside the name)
        identity = _aws(sandbox, "sts").get_caller_identity()["Arn"]
        assert status["stop"] == {"reason": "p99 latency doubled", "by": f"alice ({identity})", "name": "alice",
                                  "identity": identity}
        # as the execution history does, read with plain boto3
        described = _aws(sandbox, "stepfunctions").describe_execution(executionArn=status["executionArn"])
        assert described["error"] == "StoppedByOperator" and json.loads(described["cause"])["reason"] == "p99 latency doubled"


def test_an_operator_s_day_through_the_sandbox_secrets_rollback_check_approval_wait_and_ledger(tmp_path):
    with sandbox_process(tmp_path) as sandbox:
        sfn, machine = _aws(sandbox, "stepfunctions"), sandbox_env(sandbox)["CUTOVER_STATE_MACHINE_ARN"]
        path = sandbox["dir"] / "deploy.yaml"

        def started() -> list[str]:
            return [e["name"] for e in sfn.list_executions(stateMachineArn=machine)["executions"]]

        # A plain DB_PASSWORD is refused, naming the fix, the value never echoed, nothing started
        config = yaml.safe_load(path.read_text())
        config["task_definition"]["containers"][0]["environment"] = {"DB_PASSWORD": "hunter2"}
        secret = tmp_path / "secret.yaml"
        secret.write_text(yaml.safe_dump(config))
        refused = cutover_process(sandbox, "start", "--env", "demo", "--version", "2", "--image", "web:2",
                                  "--config", str(secret), "--name", "web-2")
        assert refused.returncode == 2 and "DB_PASSWORD looks like a secret" in refused.stderr, refused.stderr
        assert "hunter2" not in refused.stdout + refused.stderr and started() == []

        # A rollback to a version nobody kept exits non-zero, and no execution starts
        back = cutover_process(sandbox, "rollback", "--env", "demo", "--service", "web", "--to", "9")
        assert back.returncode == 3, back.stdout + back.stderr
        assert started() == []

        # While version 2 waits for approval, status says since and until
        released = cutover_process(sandbox, "start", "--env", "demo", "--version", "2", "--image", "web:2",
                                   "--config", str(path), "--name", "web-2")
        assert released.returncode == 0, released.stdout + released.stderr
        # (waiting once the request is out: before it, the approval's state is entered but nothing is asked yet)
        status = _until(lambda: (s := _status(sandbox, "web-2"))["approval_wait"] and s, 120, "the approval wait")
        wait = status["approval_wait"]
        assert wait["since"] and wait["until"] and wait["until"] > wait["since"]
        text = cutover_process(sandbox, "status", "web-2").stdout
        assert "waiting for an operator since" in text and "until" in text
        approved = cutover_process(sandbox, "approve", "web-2", "--by", "bob", "--wait-seconds", "30")
        assert approved.returncode == 0, approved.stdout + approved.stderr
        assert _until(lambda: (s := _status(sandbox, "web-2")["status"]) != "RUNNING" and s, 180, "the release ends") == "SUCCEEDED"

        # and the ledger lists it with who started and who approved it
        ledger = _until(lambda: (r := json.loads(cutover_process(sandbox, "releases", "--service", "web", "--env", "demo",
                                                                 "--output", "json").stdout)["releases"]) and r,
                        60, "the ledger has the release")
        (entry,) = [e for e in ledger if e["execution"] == "web-2"]
        assert (entry["version"], entry["outcome"], entry["approved_by"]["name"]) == ("2", "succeeded", "bob")
        assert entry["started_by"]["identity"] == _aws(sandbox, "sts").get_caller_identity()["Arn"]
