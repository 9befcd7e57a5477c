"""The step functions' third-party packages: the public Powertools layer, plus a small layer for the rest.

The Powertools for AWS Lambda (Python) v3 layer is built with `aws-lambda-powertools[all]`, so it
carries Powertools, pydantic v2 and the X-Ray SDK; it does not carry PyYAML, which the layer built
here adds. That layer is built by pip on the machine running synth (no Docker), for the Lambda
platform, from the versions pinned in requirements.txt.
"""
from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra import REPO_ROOT

RUNTIME = lambda_.Runtime.PYTHON_3_11
ARCHITECTURE = lambda_.Architecture.X86_64
PIP_PLATFORM = "manylinux2014_x86_64"
# Packages the public Powertools layer lacks; their versions come from requirements.txt.
LAYER_PACKAGES = ("PyYAML",)


def pinned(package: str, requirements: Path = REPO_ROOT / "requirements.txt") -> str:
    """The `name==version` line pinned for `package` in requirements.txt."""
    for line in requirements.read_text().splitlines():
        match = re.match(r"^\s*([A-Za-z0-9_.\[\]-]+)\s*==\s*([^\s#;]+)", line)
        if match and _normalize(match.group(1)) == _normalize(package):
            return f"{match.group(1)}=={match.group(2)}"
    raise LookupError(f"{package} is not pinned (name==version) in {requirements}")


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.split("[")[0]).lower()


@jsii.implements(ILocalBundling)
class PipLocalBundling:
    """Installs wheels for the Lambda platform with this interpreter's pip, so synth needs no Docker."""

    def __init__(self, requirements: tuple[str, ...]) -> None:
        self.requirements = requirements

    def try_bundle(self, output_dir: str, *_: Any, **__: Any) -> bool:
        python_version = RUNTIME.name.removeprefix("python")
        command = [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--no-compile", "--platform", PIP_PLATFORM, "--implementation", "cp",
            "--python-version", python_version, "--only-binary=:all:",
            "--target", str(Path(output_dir) / "python"), *self.requirements,
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            # Falling back to Docker bundling (when Docker is there) beats failing outright.
            print(f"Local bundling of {', '.join(self.requirements)} failed:\n{result.stderr}", file=sys.stderr)
            return False
        return True


class Dependencies(Construct):
    """The layers every step function runs with."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        powertools = pinned("aws-lambda-powertools").split("==")[1]
        # Powertools publishes each layer version's ARN as a public SSM parameter, per version: this
        # pins the layer to the version the code is tested with, in whatever region the stack lands.
        powertools_arn = ssm.StringParameter.value_for_string_parameter(
            self, f"/aws/service/powertools/python/{ARCHITECTURE.name}/{RUNTIME.name}/{powertools}")
        self.powertools = lambda_.LayerVersion.from_layer_version_arn(self, "Powertools", powertools_arn)

        requirements = tuple(pinned(package) for package in LAYER_PACKAGES)
        self.packages = lambda_.LayerVersion(
            self, "Packages",
            description=f"Cutover step dependencies: {', '.join(requirements)}",
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            code=lambda_.Code.from_asset(
                str(Path(__file__).parent),
                # The pins fully decide the layer's content, and hashing them lets synth skip pip when
                # the layer is already in the output directory.
                asset_hash_type=AssetHashType.CUSTOM,
                asset_hash=hashlib.sha256(
                    "\n".join((*requirements, PIP_PLATFORM, RUNTIME.name)).encode()).hexdigest(),
                bundling=BundlingOptions(
                    image=RUNTIME.bundling_image,
                    command=["bash", "-c",
                             f"pip install --no-compile -t /asset-output/python {' '.join(requirements)}"],
                    local=PipLocalBundling(requirements),
                ),
            ),
        )

    @property
    def layers(self) -> list[lambda_.ILayerVersion]:
        return [self.powertools, self.packages]
