"""The step functions' third-party packages: the public Powertools layer, plus a layer for the rest.

The Powertools for AWS Lambda (Python) v3 layer is built with `aws-lambda-powertools[all]`, so it
carries Powertools, pydantic v2 and the X-Ray SDK; it does not carry PyYAML nor boto3, which the
layer built here adds: the pinned boto3 and botocore, so the steps call AWS with the service models
`cutover plan` and the tests use, not with whatever SDK the Lambda runtime has that day (a layer
comes before the runtime's SDK on the path: Lambda developer guide, "Managing Lambda dependencies
with layers", to lock an embedded SDK version). Both layers follow the versions installed beside
this code (requirements.txt pins them in a checkout). The layer is copied from the installed
packages' pure-Python modules, with their bytecode (cutover.definition.step_code): synth needs no network, no
pip and no Docker, and gives the same layer on any machine (PyYAML's optional C speed-up is left
out; its Python parser reads deploy configs alike).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from cutover.definition import step_code
from cutover.definition.step_code import RUNTIME_NAME

# The runtime the step code's bytecode is compiled for (cutover.definition.step_code), e.g. PYTHON_3_13.
RUNTIME: lambda_.Runtime = getattr(lambda_.Runtime, "PYTHON_" + RUNTIME_NAME.removeprefix("python").replace(".", "_"))
ARCHITECTURE = lambda_.Architecture.X86_64


@jsii.implements(ILocalBundling)
class InstalledPackagesBundling:
    """Copies installed pure-Python packages into the layer, with their bytecode: no network, no pip, no Docker."""

    def __init__(self, packages: tuple[str, ...]) -> None:
        self.packages = packages

    def try_bundle(self, output_dir: str, *_: Any, **__: Any) -> bool:
        step_code.build_layer(output_dir, self.packages)
        return True


class Dependencies(Construct):
    """The layers every step function runs with."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        powertools = step_code.installed_version("aws-lambda-powertools")
        # Powertools publishes each layer version's ARN as a public SSM parameter, per version: this
        # pins the layer to the version the code is tested with, in whatever region the stack lands.
        powertools_arn = ssm.StringParameter.value_for_string_parameter(
            self, f"/aws/service/powertools/python/{ARCHITECTURE.name}/{RUNTIME.name}/{powertools}")
        self.powertools = lambda_.LayerVersion.from_layer_version_arn(self, "Powertools", powertools_arn)

        self.packages = lambda_.LayerVersion(
            self, "Packages",
            description=f"Cutover step dependencies: {', '.join(step_code.layer_requirements())}",
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            code=lambda_.Code.from_asset(
                str(Path(__file__).parent),
                # The versions and whether bytecode ships fully decide the layer's content, and hashing
                # them lets synth skip the copy when the layer is already in the output directory.
                asset_hash_type=AssetHashType.CUSTOM,
                asset_hash=step_code.layer_fingerprint(),
                bundling=BundlingOptions(
                    # Never used: the local copy always succeeds. CDK requires an image all the same.
                    image=RUNTIME.bundling_image,
                    local=InstalledPackagesBundling(step_code.LAYER_PACKAGES),
                ),
            ),
        )

    @property
    def layers(self) -> list[lambda_.ILayerVersion]:
        return [self.powertools, self.packages]
