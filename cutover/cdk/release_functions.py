"""One Lambda function per release step, each with its own role granting only that step's calls."""
from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jsii
import release
from aws_cdk import Acknowledgment, AssetHashType, BundlingOptions, Duration, ILocalBundling, RemovalPolicy, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct
from release.registry import Step

from cutover.cdk.dependencies import ARCHITECTURE, RUNTIME, Dependencies
from cutover.cdk.notifications import PUBLISH_KEY_ACTIONS, Notifications
from cutover.cdk.permissions import ResourceScope

CODE_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/.pytest_cache", "**/tests", "**/*.egg-info"]
# The step code: the `release` package, wherever it is imported from (lambdas/ in a checkout,
# site-packages once installed); handlers are `release.steps.….handler` from the asset root.
RELEASE_PACKAGE = Path(release.__file__).resolve().parent
XRAY_REASON = ("Active tracing: X-Ray PutTraceSegments and PutTelemetryRecords do not support "
               "resource-level permissions.")


@jsii.implements(ILocalBundling)
class CopyReleasePackage:
    """Copies the release package alone into the asset, without bytecode: no Docker, nothing else."""

    def try_bundle(self, output_dir: str, *_: Any, **__: Any) -> bool:
        shutil.copytree(RELEASE_PACKAGE, Path(output_dir, "release"), dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(*(pattern.removeprefix("**/") for pattern in CODE_EXCLUDES)))
        return True


def step_code() -> lambda_.Code:
    return lambda_.Code.from_asset(
        str(RELEASE_PACKAGE), exclude=CODE_EXCLUDES, asset_hash_type=AssetHashType.SOURCE,
        # Never used: the local copy always succeeds. CDK requires an image all the same.
        bundling=BundlingOptions(image=RUNTIME.bundling_image, local=CopyReleasePackage()))


class ReleaseFunctions(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, steps: Sequence[Step], resources: ResourceScope,
                 notifications: Notifications, table_name: str, log_retention: logs.RetentionDays,
                 removal_policy: RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        dependencies = Dependencies(self, "Dependencies")
        code = step_code()
        environment = {
            "RELEASE_TABLE": table_name,
            "NOTIFICATION_TOPIC_ARN": notifications.topic.topic_arn,
            "POWERTOOLS_SERVICE_NAME": "cutover",
            "POWERTOOLS_METRICS_NAMESPACE": "Cutover",
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
        self.functions: dict[str, lambda_.Function] = {}
        for step in steps:
            step_scope = Construct(self, step.key)
            role = iam.Role(
                step_scope, "Role",
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                description=f"Cutover step {step.key}: {step.description}",
            )
            for statement in resources.statements(step.calls):
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
                environment=environment,
                log_group=log_group,
            )
            reasons = resources.wildcard_reasons(step.calls)
            reasons["Resource::*"] = " ".join(filter(None, (reasons.get("Resource::*"), XRAY_REASON)))
            Validations.of(role).acknowledge(*(
                Acknowledgment(id=f"AwsSolutions-IAM5[{applies_to}]", reason=reason)
                for applies_to, reason in reasons.items()))
            Validations.of(self.functions[step.key]).acknowledge(Acknowledgment(
                id="AwsSolutions-L1",
                reason=f"{RUNTIME.name} is the Python the dependency layer is built for and the tests run on; "
                       "a newer runtime means changing RUNTIME in cutover/cdk/dependencies.py and the test interpreter "
                       "together."))
