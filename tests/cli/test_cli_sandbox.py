"""`cutover sandbox up` as a separate process, and the commands against it through AWS_ENDPOINT_URL."""
from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading

import boto3
import pytest
import yaml
from cutover_steps.registry import STEPS

from cutover import ROOT
from cutover.cdk import runtime_support
from cutover.local import node_banner
from tests.infrastructure.test_release_functions import pinned
from tests.cli.helpers import cutover_process, sandbox_env, sandbox_process

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with sandbox_process(tmp_path_factory.mktemp("sandbox")) as running:
        yield running


def _cli(sandbox, *argv: str) -> subprocess.CompletedProcess:
    return cutover_process(sandbox, *argv)


def test_sandbox_prints_its_endpoint_and_writes_the_demo_config(sandbox):
    assert f"http://127.0.0.1:{sandbox['port']}" in sandbox["banner"]
    assert "stateMachine:cutover-release" in sandbox["banner"]
    assert "service: web" in (sandbox["dir"] / "deploy.yaml").read_text()


def test_an_account_level_check_with_boto3_finds_what_the_stack_deploys(sandbox):
    # Given a script that checks an account with boto3 alone, pointed at the sandbox by its env file
    env = sandbox_env(sandbox)
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name=env["AWS_DEFAULT_REGION"])
    functions = session.client("lambda", endpoint_url=env["AWS_ENDPOINT_URL"])
    roles = session.client("iam", endpoint_url=env["AWS_ENDPOINT_URL"])

    # When it reads the step functions, their layer and their roles' policies
    found = functions.list_functions()["Functions"]
    (layer,) = {layer["Arn"] for f in found for layer in f["Layers"]}
    name, version = layer.split(":")[-2:]
    description = functions.get_layer_version(LayerName=name, VersionNumber=int(version))["Description"]
    invokable = [resource for f in found for name in roles.list_role_policies(RoleName=f["Role"].rsplit("/", 1)[1])["PolicyNames"]
                 for statement in roles.get_role_policy(RoleName=f["Role"].rsplit("/", 1)[1], PolicyName=name)["PolicyDocument"]["Statement"]
                 if "lambda:InvokeFunction" in statement["Action"]
                 for resource in ([statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"])]

    # Then every step runs on a supported Amazon Linux 2023 runtime
    assert len(found) == len(STEPS)
    assert {runtime_support.problem(f["Runtime"]) for f in found} == {None}
    # And with the pinned boto3 and botocore in its layer
    assert f"boto3=={pinned('boto3')}" in description and f"botocore=={pinned('botocore')}" in description
    # And no step may invoke every function: only the check functions the sandbox's settings list
    assert invokable and all(r.endswith(":function:check-*") or r.endswith(":function:check-*:*") for r in invokable), invokable


def test_plan_against_the_sandbox_reads_the_live_version(sandbox):
    # Given the sandbox's demo environment with version 1 live
    # When a user plans version 2 with the config the sandbox wrote
    result = _cli(sandbox, "plan", "--env", "demo", "--version", "2", "--image", "web:2",
                  "--config", str(sandbox["dir"] / "deploy.yaml"))
    # Then the plan shows version 1 being replaced and retired
    assert result.returncode == 0, result.stderr
    assert "now demo-web-1 (v1) -> demo-web-2" in result.stdout
    assert "web-1 (v1): scalable target 2..6 parked at 0..0" in result.stdout


def test_the_env_file_is_all_plain_boto3_needs(sandbox):
    # Given a shell with only what the sandbox's env file says (no region or credentials of its own)
    script = ("import boto3, os; sfn = boto3.client('stepfunctions'); "
              "print(sfn.describe_state_machine(stateMachineArn=os.environ['CUTOVER_STATE_MACHINE_ARN'])['name'])")
    result = subprocess.run([sys.executable, "-c", script], env=sandbox_env(sandbox), capture_output=True, text=True,
                            timeout=180, check=False)
    # Then boto3 finds the sandbox, its region and the state machine
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "cutover-release"


def test_endpoint_option_works_without_the_environment_variable(sandbox):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("CUTOVER_")}
    result = subprocess.run([sys.executable, "-m", "cutover", "status", "nothing-here",
                             "--endpoint-url", f"http://127.0.0.1:{sandbox['port']}"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False)
    # The state machine is found by name and the missing execution is reported as not found
    assert result.returncode == 3, result.stderr
    assert "no execution 'nothing-here'" in result.stderr


def test_a_release_through_the_sandbox_with_an_approval_from_another_shell(sandbox):
    # Given start --wait running in one shell
    env = sandbox_env(sandbox)
    starter = subprocess.Popen(
        [sys.executable, "-m", "cutover", "start", "--env", "demo", "--version", "2", "--image", "web:2",
         "--config", str(sandbox["dir"] / "deploy.yaml"), "--name", "web-2", "--wait"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    # When an operator approves from another
    approval = _cli(sandbox, "approve", "web-2", "--wait-seconds", "60", "--by", "alice")
    out, err = starter.communicate(timeout=90)
    # Then the release succeeds and the first shell's command says so with exit 0
    assert approval.returncode == 0, approval.stderr
    assert starter.returncode == 0, out + err
    assert "web-2: SUCCEEDED" in out
    assert "approved by alice" in _cli(sandbox, "history", "web-2").stdout


CHECK_FILE = '''
def contract_tests(event, context):
    return {"passed": event["version"] == "2", "message": f"contract tests ran against {event['target_groups'][0]['name']}"}
'''


def test_sandbox_serves_a_python_function_as_a_lambda_check_and_http_checks_reach_127_0_0_1(tmp_path):
    # Given a sandbox serving a local Python function as the check function check-contract,
    (tmp_path / "checks.py").write_text(CHECK_FILE)
    (tmp_path / "sandbox").mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("Ok", (http.server.BaseHTTPRequestHandler,), {
        "do_GET": lambda self: (self.send_response(204), self.end_headers()), "log_message": lambda self, *a: None}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sandbox_process(tmp_path / "sandbox", "--function", f"check-contract={tmp_path / 'checks.py'}:contract_tests") as box:
            assert "function:check-contract" in box["banner"]
            # and a config with that Lambda check and an HTTP check of a server on 127.0.0.1
            config = yaml.safe_load((box["dir"] / "deploy.yaml").read_text())
            config["release"]["approval"] = {"mode": "auto"}
            config["release"]["verify"] = [
                {"name": "contract", "lambda": {"function_arn": "arn:aws:lambda:us-east-1:123456789012:function:check-contract"}},
                {"name": "ping", "http": {"url": f"http://127.0.0.1:{server.server_address[1]}/ping", "expect_status": 204},
                 "when": ["prepared", "hold"]},
            ]
            path = tmp_path / "deploy.yaml"
            path.write_text(yaml.safe_dump(config))

            # When version 2 is released through the sandbox
            started = cutover_process(box, "start", "--env", "demo", "--version", "2", "--image", "web:2",
                                      "--config", str(path), "--name", "web-2", "--wait", timeout=150)

            # Then it succeeds, and history and status show what each check found
            assert started.returncode == 0, started.stdout + started.stderr
            # (the table wraps its last column to the terminal's width)
            history = " ".join(cutover_process(box, "history", "web-2").stdout.split())
            assert "contract passed: contract tests ran against demo-web-2" in history
            assert "ping passed" in history
            status = cutover_process(box, "status", "web-2").stdout
            assert "check     contract passed: contract tests ran against demo-web-2 (prepared)" in status
            assert "ping passed" in status and "(hold)" in status
    finally:
        server.shutdown()
        server.server_close()


def test_sandbox_refuses_a_function_it_cannot_load(tmp_path):
    result = subprocess.run([sys.executable, "-m", "cutover", "sandbox", "up", "--function", "check-x=missing.py:f"],
                            cwd=ROOT, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 2
    assert "--function 'check-x=missing.py:f': no file missing.py" in result.stderr


def _settings_file(directory, context: dict) -> str:
    path = directory / "cdk.json"
    path.write_text(json.dumps({"app": "python3 app.py", "context": {**context, "@aws-cdk/core:target": "x"}}))
    return str(path)


def test_sandbox_settings_scope_the_steps_and_a_refusal_names_the_action_and_the_setting(tmp_path):
    # Given a sandbox rehearsing under a team's own stack settings (their cdk.json), which do not cover the demo
    settings = _settings_file(tmp_path, {"cutover:clusterNames": ["prod"], "cutover:serviceNamePrefix": "shop-",
                                         "cutover:targetGroupNamePrefix": "prod-shop-"})
    # (the sandbox synthesizes the stack with them as it starts: CDK takes its time on a loaded machine)
    with sandbox_process(tmp_path, "--settings", settings, ready_seconds=180) as sandbox:
        # Then the banner says what the steps may touch, from that file, and that the demo is outside it
        assert f"IAM scope      the stack settings of {settings}" in sandbox["banner"]
        assert "services       named 'shop-*' in prod" in sandbox["banner"]
        assert "the demo service (web on cluster demo) is outside them" in sandbox["banner"]

        # When the demo is released there
        result = _cli(sandbox, "start", "--env", "demo", "--version", "2", "--image", "web:2",
                      "--config", str(sandbox["dir"] / "deploy.yaml"), "--name", "web-2", "--wait")

    # Then it fails before changing anything, as a permission problem naming the action and the setting
    assert result.returncode == 1, result.stdout + result.stderr
    assert "PermissionDenied: AWS refused ecs:DescribeClusters" in result.stdout
    assert "cluster_names (cutover:clusterNames)" in result.stdout
    assert "The stack's settings do not allow this release" in result.stdout
    assert "The release input is invalid" not in result.stdout + result.stderr


def test_sandbox_settings_that_cover_the_demo_let_its_release_through(tmp_path):
    # Given settings naming the demo's resources, with the role ARN of the team's own account
    settings = _settings_file(tmp_path, {
        "cutover:clusterNames": ["demo"], "cutover:serviceNamePrefix": "web-", "cutover:targetGroupNamePrefix": "demo-web-",
        "cutover:taskDefinitionFamilies": ["web"], "cutover:taskRoleArns": ["arn:aws:iam::111122223333:role/demo-web-execution"]})
    # (the sandbox synthesizes the stack with them as it starts: CDK takes its time on a loaded machine)
    with sandbox_process(tmp_path, "--settings", settings, ready_seconds=180) as sandbox:
        # Then the role is scoped in the sandbox's account, and the demo is inside the scope
        assert "task roles arn:aws:iam::123456789012:role/demo-web-execution" in sandbox["banner"]
        assert "outside them" not in sandbox["banner"]
        env = sandbox_env(sandbox)
        starter = subprocess.Popen(
            [sys.executable, "-m", "cutover", "start", "--env", "demo", "--version", "2", "--image", "web:2",
             "--config", str(sandbox["dir"] / "deploy.yaml"), "--name", "web-2", "--wait"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # When the release is approved
        approval = _cli(sandbox, "approve", "web-2", "--wait-seconds", "60")
        out, err = starter.communicate(timeout=90)
    # Then it succeeds under those settings
    assert approval.returncode == 0, approval.stderr
    assert starter.returncode == 0, out + err
    assert "web-2: SUCCEEDED" in out


def test_sandbox_settings_refuse_an_unknown_key_before_starting(tmp_path):
    settings = _settings_file(tmp_path, {"cutover:clusterName": ["prod"]})
    # (with nothing in the environment that quiets the CDK's Node banner, as on a user's machine)
    env = {k: v for k, v in os.environ.items() if k != node_banner.VARIABLE}
    result = subprocess.run([sys.executable, "-m", "cutover", "sandbox", "up", "--port", "1", "--settings", settings],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    # Then the refusal is all it says, with no banner about the Node the CDK runs on
    assert result.stderr.strip().startswith("cutover sandbox: --settings "), result.stderr
    assert "cutover:clusterName: not a setting of the stack" in result.stderr
    assert "end-of-life" not in result.stderr
