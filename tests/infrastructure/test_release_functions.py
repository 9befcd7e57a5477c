"""Every step of the registry runs as its own Lambda function, with the code and settings it expects."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_logs as logs
from cutover_steps.registry import STEPS

from tests.infrastructure.conftest import REPO_ROOT
from cutover.definition import step_code
from cutover.cdk import runtime_support
from cutover.cdk.notifications import Notifications
from cutover.cdk.state_machine import ReleaseStateMachine


def test_one_function_per_registry_step_running_that_steps_handler(synthesized):
    # Given the steps the registry lists
    # When the stack is synthesized
    functions = synthesized.of_type("AWS::Lambda::Function")

    # Then each step has exactly one function, running its handler, with its own timeout and description
    assert len(functions) == len(STEPS)
    for step in STEPS:
        _, function = synthesized.function_with_handler(step.handler)
        properties = function["Properties"]
        assert properties["Timeout"] == step.timeout_seconds, step.key
        assert properties["Description"] == step.description
        assert properties["Runtime"] == step_code.RUNTIME_NAME


def test_every_function_runs_on_an_amazon_linux_2023_runtime_supported_for_a_year_more(synthesized):
    # Given Lambda's published deprecation dates (cutover/cdk/runtime_support.py, with its source)
    # When the stack is synthesized today
    runtimes = {f["Properties"]["Runtime"] for f in synthesized.of_type("AWS::Lambda::Function").values()}

    # Then no function names a runtime on Amazon Linux 2 or within a year of its deprecation
    assert runtimes and {runtime: runtime_support.problem(runtime) for runtime in runtimes} == dict.fromkeys(runtimes)


def test_the_runtime_check_refuses_amazon_linux_2_and_a_runtime_deprecated_within_a_year():
    from datetime import date

    assert "Amazon Linux 2," in runtime_support.problem("python3.11", date(2026, 12, 7))
    assert "2029-06-30" in runtime_support.problem("python3.13", date(2028, 7, 1))
    assert runtime_support.problem("python3.13", date(2026, 12, 7)) is None
    assert "not in the table" in runtime_support.problem("python3.99", date(2026, 12, 7))


def test_each_function_has_a_role_of_its_own(synthesized):
    roles = [synthesized.role_of_function(f) for f in synthesized.of_type("AWS::Lambda::Function").values()]
    assert len(set(roles)) == len(STEPS)


def test_functions_get_the_environment_the_step_code_reads(synthesized):
    (table,) = synthesized.of_type("AWS::DynamoDB::Table")
    (topic,) = synthesized.of_type("AWS::SNS::Topic")
    undo, _ = synthesized.function_with_handler("cutover_steps.steps.undo_stopped_release.handler")
    for name, function in synthesized.of_type("AWS::Lambda::Function").items():
        variables = dict(function["Properties"]["Environment"]["Variables"])
        if name == undo:
            # The undo starts its own state machine, and waits for a stopped release's function by its timeout
            assert variables.pop("UNDO_STATE_MACHINE_ARN") == {"Fn::Join": ["", [
                "arn:", {"Ref": "AWS::Partition"}, ":states:", {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"},
                ":stateMachine:Cutover-Release-Undo"]]}
            assert "Fn::Join" in variables.pop("FUNCTION_TIMEOUTS")
        # LoadRelease also learns which roles CreateService may hand to ECS (none unless the settings list some)
        if function["Properties"]["Handler"] == "cutover_steps.steps.load_release.handler":
            assert variables.pop("CUTOVER_INFRASTRUCTURE_ROLES") == ""
        if "RecordInLedger" in name:
            # The ledger's writer also reads how long entries are kept (the stack's ledger_retention_days).
            assert variables.pop("LEDGER_RETENTION_DAYS") == "730"
        assert variables == {
            "RELEASE_TABLE": {"Ref": table},
            "NOTIFICATION_TOPIC_ARN": {"Ref": topic},
            "POWERTOOLS_SERVICE_NAME": "cutover",
            "POWERTOOLS_METRICS_NAMESPACE": "Cutover",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            # AWS calls are not traced unless cutover:traceAwsCalls says so: no X-Ray SDK on cold start
            "POWERTOOLS_TRACE_DISABLED": "true",
        }, name
        assert function["Properties"]["TracingConfig"] == {"Mode": "Active"}, name


def test_functions_log_to_their_own_log_group_that_expires(synthesized):
    for name, function in synthesized.of_type("AWS::Lambda::Function").items():
        log_group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert synthesized.resources[log_group]["Properties"]["RetentionInDays"] == 365, name


def pinned(package: str) -> str:
    """The version requirements.txt pins for `package`."""
    text = (REPO_ROOT / "requirements.txt").read_text()
    return re.search(rf"^{re.escape(package)}==(\S+)", text, re.MULTILINE | re.IGNORECASE).group(1)


def _asset_dir(synthesized, s3_key: dict | str) -> Path:
    return synthesized.outdir / f"asset.{str(s3_key).removesuffix('.zip')}"


def test_the_code_asset_is_the_cutover_steps_package_with_bytecode_the_runtime_uses(synthesized):
    # When the functions' code is packaged
    (function, *_) = synthesized.of_type("AWS::Lambda::Function").values()
    asset = _asset_dir(synthesized, function["Properties"]["Code"]["S3Key"])

    # Then the handlers import as `cutover_steps.…` from the asset root, without tests
    assert (asset / "cutover_steps" / "registry.py").is_file()
    assert not list(asset.rglob("tests"))

    # And every module comes with hash-checked bytecode of exactly its source, for the runtime's Python:
    # valid whatever timestamps the zip gives the files
    assert_checked_bytecode(asset / "cutover_steps")

    # And a handler imported from the read-only asset by the runtime's Python, as on Lambda, compiles none
    # of the step code
    assert compiled_on_import("cutover_steps.steps.create_service", path=asset, under=asset) == []


def runtime_python() -> str:
    """The runtime's interpreter the build compiled with; without one the build ships sources only and says so."""
    python = step_code.runtime_python()
    if python is None:
        pytest.skip(f"no {step_code.RUNTIME_NAME} interpreter on this machine (set {step_code.RUNTIME_PYTHON_VARIABLE}); "
                    "the asset ships sources only, as synth warns")
    return python


BYTECODE_PROBE = (
    "import importlib.util, json, pathlib, sys\n"
    "wrong = []\n"
    "for source in pathlib.Path(sys.argv[1]).rglob('*.py'):\n"
    "    cached = pathlib.Path(importlib.util.cache_from_source(str(source)))\n"
    "    header = cached.read_bytes()[:16] if cached.is_file() else b''\n"
    "    if (header[:4] != importlib.util.MAGIC_NUMBER or int.from_bytes(header[4:8], 'little') != 0b11\n"
    "            or header[8:16] != importlib.util.source_hash(source.read_bytes())):\n"
    "        wrong.append(str(source))\n"
    "print(json.dumps(wrong))\n"
)


def assert_checked_bytecode(folder: Path) -> None:
    """Every module under `folder` has hash-checked bytecode of exactly its source (PEP 552), read by the
    runtime's Python (bytecode and its cache file name are per minor version)."""
    assert list(folder.rglob("*.py")), folder
    done = subprocess.run([runtime_python(), "-I", "-c", BYTECODE_PROBE, str(folder)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def compiled_on_import(module: str, *, path: Path, under: Path) -> list[str]:
    """The sources under `under` that importing `module` by the runtime's Python with `path` first on sys.path
    compiles, with nothing written back (Lambda's /var/task and /opt are read-only). The pure-Python packages
    of this environment (Powertools, which Lambda's public layer gives) come last on the path."""
    probe = (
        "import importlib.machinery as m, json, sys\n"
        "compiled = []\n"
        "original = m.SourceFileLoader.source_to_code\n"
        "def source_to_code(self, data, path, *args, **kwargs):\n"
        "    compiled.append(path)\n"
        "    return original(self, data, path, *args, **kwargs)\n"
        "m.SourceFileLoader.source_to_code = source_to_code\n"
        f"import {module}\n"
        f"print(json.dumps([p for p in compiled if p.startswith({str(under)!r})]))\n"
    )
    site = Path(importlib.util.find_spec("aws_lambda_powertools").origin).parents[1]
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": os.pathsep.join((str(path), str(site))),
           "PYTHONDONTWRITEBYTECODE": "1", "AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run([runtime_python(), "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_dependencies_come_from_the_pinned_powertools_layer_and_a_pinned_package_layer(synthesized):
    # Given the versions pinned in requirements.txt
    powertools = pinned("aws-lambda-powertools")

    # When a function starts
    (function, *_) = synthesized.of_type("AWS::Lambda::Function").values()
    powertools_layer, packages_layer = function["Properties"]["Layers"]

    # Then Powertools (with pydantic 2 and the X-Ray SDK) comes from the public layer of exactly that version
    parameter = synthesized.template["Parameters"][powertools_layer["Ref"]]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert parameter["Default"] == f"/aws/service/powertools/python/x86_64/{step_code.RUNTIME_NAME}/{powertools}"

    # And PyYAML, which that layer lacks, comes from a layer of the pinned version's pure-Python modules
    layer = synthesized.resources[packages_layer["Ref"]]["Properties"]
    asset = _asset_dir(synthesized, layer["Content"]["S3Key"])
    version = pinned("PyYAML")
    assert [d for d in (asset / "python").glob("*.dist-info") if d.name.lower() == f"pyyaml-{version}.dist-info"]
    assert not [f for f in asset.rglob("*") if f.suffix in (".so", ".pyd")], "nothing tied to the synth machine"
    assert layer["CompatibleRuntimes"] == [step_code.RUNTIME_NAME]

    # And its modules come with the runtime's bytecode, as the step code does: a cold start that
    # reads a config compiles none of PyYAML
    assert_checked_bytecode(asset / "python" / "yaml")
    assert compiled_on_import("yaml", path=asset / "python", under=asset) == []

    # And with nothing but the layer on the path, as on Lambda, it reads a deploy config
    probe = "import sys, yaml; sys.stdout.write(repr(yaml.safe_load('routes: [{name: web}]')))"
    done = subprocess.run([sys.executable, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {str(asset / 'python')!r}); {probe}"],
                          capture_output=True, text=True, timeout=60)
    assert done.stdout == "{'routes': [{'name': 'web'}]}", done.stderr


def test_the_steps_run_with_the_pinned_boto3_and_botocore_not_the_runtimes_own(synthesized):
    # Given the SDK versions pinned in requirements.txt (the ones `cutover plan` validates configs with)
    boto3, botocore = pinned("boto3"), pinned("botocore")

    # When a function starts, its package layer comes on the path before the runtime's own SDK
    (function, *_) = synthesized.of_type("AWS::Lambda::Function").values()
    packages_layer = function["Properties"]["Layers"][-1]
    asset = _asset_dir(synthesized, synthesized.resources[packages_layer["Ref"]]["Properties"]["Content"]["S3Key"])
    python = asset / "python"

    # Then that layer holds exactly the pinned boto3 and botocore, with their dependencies and the runtime's bytecode
    assert {d.name.lower() for d in python.glob("boto*.dist-info")} == {f"boto3-{boto3}.dist-info",
                                                                         f"botocore-{botocore}.dist-info"}
    assert (python / "botocore" / "data" / "ecs").is_dir()
    assert_checked_bytecode(python / "botocore")

    # And with nothing but the layer on the path, as on Lambda, the SDK imported is the pinned one, and its ECS
    # model knows what plan's does
    probe = ("import sys, boto3, botocore.session; "
             "ecs = botocore.session.get_session().get_service_model('ecs'); "
             "sys.stdout.write(' '.join((boto3.__version__, botocore.__version__, boto3.__file__, "
             "str(len(ecs.shape_for('CreateServiceRequest').members)))))")
    done = subprocess.run([sys.executable, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {str(python)!r}); {probe}"],
                          capture_output=True, text=True, timeout=60)
    import botocore.session as installed
    members = len(installed.get_session().get_service_model("ecs").shape_for("CreateServiceRequest").members)
    assert done.stdout.split() == [boto3, botocore, str(python / "boto3" / "__init__.py"), str(members)], done.stderr


def test_a_definition_naming_a_function_no_step_provides_fails_synth(tmp_path):
    # Given a definition that expects a substitution no step provides
    definition = tmp_path / "release.asl.json"
    definition.write_text(
        '{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${NoSuchFunctionArn}", "End": true}}}')
    stack = cdk.Stack(cdk.App(), "Test")

    # When the state machine is built from it
    # Then synth stops with the variable's name, instead of deploying a flow that fails at run time
    with pytest.raises(ValueError, match="NoSuchFunctionArn"):
        ReleaseStateMachine(stack, "Release", definition_path=definition, state_machine_name="Test-Release",
                            functions={}, substitution_names={}, notifications=Notifications(stack, "N", emails=()),
                            log_retention=logs.RetentionDays.ONE_WEEK)
