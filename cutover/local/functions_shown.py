"""The step functions as the stack deploys them, made visible in the sandbox's account: each function with its
runtime, handler, timeout and layer, each role with the statements the engine enforces, so an account-level
check (`aws lambda get-function-configuration`, `aws iam get-role-policy`) reads there what it reads on AWS.

The engine runs the handlers itself (cutover/local/lambdas.py), with the packages installed beside it, which
are the versions the stack's layer ships. So the layer published here carries what names those versions, the
packages' metadata (`python/<package>.dist-info/METADATA`, as in the stack's layer), with the stack's
description; its modules (about 36 MB, botocore's models) would only slow every sandbox's start.
"""
from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Callable

from cutover_steps.registry import STEPS
from cutover_steps.config.service_roles import ALLOWED_VARIABLE

from cutover.definition import step_code
from cutover.local import lambdas
from cutover.local.iam import policies

LAYER_NAME = "cutover-packages"
POLICY_NAME = "cutover-step"
ASSUME_BY_LAMBDA = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def _zipped(folder: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder))
    return buffer.getvalue()


def layer_zip() -> bytes:
    """The package layer's metadata files, at the paths the stack's layer has them (cutover.definition.step_code)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for package in step_code.LAYER_PACKAGES:
            for source, relative in step_code.pure_python_files(package):
                if relative.parts[0].endswith(".dist-info"):
                    archive.write(source, str(Path("python", *relative.parts)))
    return buffer.getvalue()


def code_zip() -> bytes:
    with tempfile.TemporaryDirectory(prefix="cutover-asset-") as scratch:
        step_code.build(scratch)
        return _zipped(scratch)


def show(client: Callable[[str], Any], environment: dict[str, str]) -> dict[str, str]:
    """Create each step's role, the package layer and each step's function record; {step key: function ARN}."""
    iam, functions = client("iam"), client("lambda")
    layer = functions.publish_layer_version(
        LayerName=LAYER_NAME, Description=f"Cutover step dependencies: {', '.join(step_code.layer_requirements())}",
        Content={"ZipFile": layer_zip()}, CompatibleRuntimes=[step_code.RUNTIME_NAME],
        CompatibleArchitectures=["x86_64"])["LayerVersionArn"]
    code = code_zip()
    enforced = policies.load()["functions"]
    arns = {}
    for step in STEPS:
        role = iam.create_role(RoleName=f"cutover-{step.key}", AssumeRolePolicyDocument=ASSUME_BY_LAMBDA,
                               Description=f"Cutover step {step.key}: {step.description}")["Role"]["Arn"]
        iam.put_role_policy(RoleName=f"cutover-{step.key}", PolicyName=POLICY_NAME, PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": enforced[step.key]["statements"]}))
        arns[step.key] = functions.create_function(
            FunctionName=lambdas.function_name(step.key), Runtime=step_code.RUNTIME_NAME, Role=role,
            Handler=step.handler, Code={"ZipFile": code}, Description=step.description, Timeout=int(lambdas.time_limit(step.key)),
            MemorySize=256, Layers=[layer], Architectures=["x86_64"],
            Environment={"Variables": {**environment, **({ALLOWED_VARIABLE: policies.infrastructure_roles()}
                                                         if step.key == "LoadRelease" else {})}},
        )["FunctionArn"]
    return arns
