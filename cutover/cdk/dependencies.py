"""The step functions' third-party packages: the public Powertools layer, plus a small layer for the rest.

The Powertools for AWS Lambda (Python) v3 layer is built with `aws-lambda-powertools[all]`, so it
carries Powertools, pydantic v2 and the X-Ray SDK; it does not carry PyYAML, which the layer built
here adds. Both follow the versions installed beside this code (requirements.txt pins them in a
checkout). The layer is copied from the installed PyYAML's pure-Python modules: synth needs no
network, no pip and no Docker, and gives the same layer on any machine (PyYAML's optional C
speed-up is left out; its Python parser reads deploy configs alike).
"""
from __future__ import annotations

import hashlib
import importlib.machinery
import shutil
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from cutover.step_code import RUNTIME_NAME

# The runtime the step code's bytecode is compiled for (cutover.step_code), e.g. PYTHON_3_11.
RUNTIME: lambda_.Runtime = getattr(lambda_.Runtime, "PYTHON_" + RUNTIME_NAME.removeprefix("python").replace(".", "_"))
ARCHITECTURE = lambda_.Architecture.X86_64
# Packages the public Powertools layer lacks; each must work without its compiled extensions.
LAYER_PACKAGES = ("PyYAML",)
_NATIVE = tuple(importlib.machinery.EXTENSION_SUFFIXES) + (".so", ".pyd", ".dylib", ".dll")


def installed_version(package: str) -> str:
    """The version of `package` installed beside this code (the one the tests ran with)."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError as error:
        raise LookupError(f"{package} is not installed; install cutover[cdk] (or requirements.txt)") from error


def pure_python_files(package: str) -> list[tuple[Path, PurePosixPath]]:
    """(installed file, path inside the layer's python/ folder) for the package's modules and metadata.

    Compiled extensions, bytecode and scripts are left out: they belong to the machine running synth.
    """
    distribution = metadata.distribution(package)
    files = []
    for entry in distribution.files or ():
        relative = PurePosixPath(str(entry))
        if relative.parts[0] == ".." or "__pycache__" in relative.parts or relative.name.endswith(_NATIVE):
            continue
        if relative.parts[0].endswith(".dist-info") and relative.name != "METADATA":
            continue
        files.append((Path(distribution.locate_file(entry)), relative))
    return files


@jsii.implements(ILocalBundling)
class InstalledPackagesBundling:
    """Copies installed pure-Python packages into the layer: no network, no pip, no Docker."""

    def __init__(self, packages: tuple[str, ...]) -> None:
        self.packages = packages

    def try_bundle(self, output_dir: str, *_: Any, **__: Any) -> bool:
        for package in self.packages:
            for source, relative in pure_python_files(package):
                target = Path(output_dir, "python", *relative.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
        return True


class Dependencies(Construct):
    """The layers every step function runs with."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        powertools = installed_version("aws-lambda-powertools")
        # Powertools publishes each layer version's ARN as a public SSM parameter, per version: this
        # pins the layer to the version the code is tested with, in whatever region the stack lands.
        powertools_arn = ssm.StringParameter.value_for_string_parameter(
            self, f"/aws/service/powertools/python/{ARCHITECTURE.name}/{RUNTIME.name}/{powertools}")
        self.powertools = lambda_.LayerVersion.from_layer_version_arn(self, "Powertools", powertools_arn)

        requirements = tuple(f"{package}=={installed_version(package)}" for package in LAYER_PACKAGES)
        self.packages = lambda_.LayerVersion(
            self, "Packages",
            description=f"Cutover step dependencies: {', '.join(requirements)}",
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            code=lambda_.Code.from_asset(
                str(Path(__file__).parent),
                # The versions fully decide the layer's content, and hashing them lets synth skip the
                # copy when the layer is already in the output directory.
                asset_hash_type=AssetHashType.CUSTOM,
                asset_hash=hashlib.sha256("\n".join((*requirements, "pure-python")).encode()).hexdigest(),
                bundling=BundlingOptions(
                    # Never used: the local copy always succeeds. CDK requires an image all the same.
                    image=RUNTIME.bundling_image,
                    local=InstalledPackagesBundling(LAYER_PACKAGES),
                ),
            ),
        )

    @property
    def layers(self) -> list[lambda_.ILayerVersion]:
        return [self.powertools, self.packages]
