"""One Lambda function per release step, each with its own role granting only that step's calls."""
from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jsii
from aws_cdk import (Acknowledgment, Annotations, AssetHashType, BundlingOptions, Duration, ILocalBundling,
                     RemovalPolicy, Validations)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct
from cutover_steps.registry import CHECK_RUNNERS, Step
from cutover_steps.config.service_roles import ALLOWED_VARIABLE

from cutover.definition import step_code as asset
from cutover.cdk.dependencies import ARCHITECTURE, RUNTIME, Dependencies
from cutover.cdk.notifications import PUBLISH_KEY_ACTIONS, Notifications
from cutover.cdk.permissions import ResourceScope

# What Lambda itself does with a function's role to attach it to a VPC (Lambda developer guide, "Giving
# Lambda functions access to resources in an Amazon VPC"; the AWSLambdaVPCAccessExecutionRole policy).
VPC_ACCESS_ACTIONS = ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
                      "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
VPC_ACCESS_REASON = ("Lambda manages the network interfaces of a function in a VPC with the function's role; "
                     "ec2:DescribeNetworkInterfaces works only on `*`, and the interfaces' ids are assigned by EC2.")
XRAY_REASON = ("Active tracing: X-Ray PutTraceSegments and PutTelemetryRecords do not support "
               "resource-level permissions.")


@jsii.implements(ILocalBundling)
class CopyReleasePackage:
    """Copies the cutover_steps package alone into the asset, with its bytecode (cutover.definition.step_code): no Docker."""

    def try_bundle(self, output_dir: str, *_: Any, **__: Any) -> bool:
        asset.build(output_dir)
        return True


def step_code() -> lambda_.Code:
    return lambda_.Code.from_asset(
        str(asset.RELEASE_PACKAGE), exclude=asset.CODE_EXCLUDES,
        # The source and whether bytecode ships decide the content: an asset staged before bytecode
        # shipped (or by another Python) is not reused for one that carries it.
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=asset.fingerprint(),
        # Never used: the local copy always succeeds. CDK requires an image all the same.
        bundling=BundlingOptions(image=RUNTIME.bundling_image, local=CopyReleasePackage()))


@dataclass(frozen=True)
class CheckNetwork:
    """Where the functions that run verification checks sit, so that HTTP checks reach the services' VPC."""

    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()

    def attach(self, function: lambda_.Function, role: iam.Role) -> None:
        """Put `function` in the subnets, with what Lambda needs to attach it there."""
        if not self.subnet_ids:
            return
        cfn = function.node.default_child
        cfn.vpc_config = lambda_.CfnFunction.VpcConfigProperty(
            subnet_ids=list(self.subnet_ids), security_group_ids=list(self.security_group_ids))
        # The role must allow this before Lambda creates the function's network interfaces.
        policy = iam.Policy(function, "VpcAccess", statements=[
            iam.PolicyStatement(actions=VPC_ACCESS_ACTIONS, resources=["*"])], roles=[role])
        cfn.add_dependency(policy.node.default_child)
        Validations.of(policy).acknowledge(Acknowledgment(id="AwsSolutions-IAM5[Resource::*]", reason=VPC_ACCESS_REASON))


class ReleaseFunctions(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, steps: Sequence[Step], resources: ResourceScope,
                 notifications: Notifications, table_name: str, log_retention: logs.RetentionDays,
                 removal_policy: RemovalPolicy, trace_aws_calls: bool = False,
                 check_network: CheckNetwork | None = None, infrastructure_role_arns: Sequence[str] = ()) -> None:
        super().__init__(scope, construct_id)
        dependencies = Dependencies(self, "Dependencies")
        code = step_code()
        if not asset.compiles_for_runtime():
            Annotations.of(self).add_warning_v2("cutover:stepBytecode", (
                f"synthesized with Python {sys.version_info.major}.{sys.version_info.minor} and no {asset.RUNTIME_NAME} "
                f"interpreter found (set {asset.RUNTIME_PYTHON_VARIABLE}): the step code and its layer ship without "
                "bytecode, so every cold start compiles them"))
        environment = {
            "RELEASE_TABLE": table_name,
            "NOTIFICATION_TOPIC_ARN": notifications.topic.topic_arn,
            **asset.environment(trace_aws_calls=trace_aws_calls),
        }
        self.functions: dict[str, lambda_.Function] = {}
        for step in steps:
            step_scope = Construct(self, step.key)
            role = iam.Role(
                step_scope, "Role",
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                description=f"Cutover step {step.key}: {step.description}",
            )
            for statement in resources.statements(step.calls) + resources.implied(step.calls):
                role.add_to_policy(statement)
            if "sns:Publish" in step.calls:
                # The topic is encrypted: publishing also needs the key.
                role.add_to_policy(iam.PolicyStatement(actions=PUBLISH_KEY_ACTIONS,
                                                       resources=[notifications.key.key_arn]))
            log_group = logs.LogGroup(step_scope, "Logs", retention=log_retention, removal_policy=removal_policy)
            log_group.grant_write(role)
            self.functions[step.key] = lambda_.Function(
                step_scope, "Function",
                description=step.description,
                runtime=RUNTIME,
                architecture=ARCHITECTURE,
                handler=step.handler,
                code=code,
                layers=dependencies.layers,
                role=role,
                timeout=Duration.seconds(step.timeout_seconds),
                memory_size=256,
                tracing=lambda_.Tracing.ACTIVE,
                environment={**environment, **({ALLOWED_VARIABLE: ",".join(infrastructure_role_arns)}
                                               if step.key == "LoadRelease" else {})},
                log_group=log_group,
            )
            if step.key in CHECK_RUNNERS and check_network:
                check_network.attach(self.functions[step.key], role)
            reasons = resources.wildcard_reasons(step.calls)
            reasons["Resource::*"] = " ".join(filter(None, (reasons.get("Resource::*"), XRAY_REASON)))
            Validations.of(role).acknowledge(*(
                Acknowledgment(id=f"AwsSolutions-IAM5[{applies_to}]", reason=reason)
                for applies_to, reason in reasons.items()))
            Validations.of(self.functions[step.key]).acknowledge(Acknowledgment(
                id="AwsSolutions-L1",
                reason=f"{RUNTIME.name} (Amazon Linux 2023, supported until 2029: cutover/cdk/runtime_support.py) is "
                       "the Python the step code's bytecode and the dependency layer are built for; a newer runtime "
                       "means changing RUNTIME_NAME in cutover/definition/step_code.py, with its Powertools layer."))
