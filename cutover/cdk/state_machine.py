"""The release state machine: the ASL file in statemachine/, deployed as written, with its substitutions."""
from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from aws_cdk import Acknowledgment, Annotations, Aws, RemovalPolicy, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cutover.cdk.notifications import Notifications
from cutover_steps.registry import integration_arns

SUBSTITUTION = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
TOPIC_SUBSTITUTION = "NotificationTopicArn"


def substitutions_in(definition: str) -> set[str]:
    """The `${Name}` variables a definition expects CloudFormation to fill in."""
    return set(SUBSTITUTION.findall(definition))


class ReleaseStateMachine(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, definition_path: Path, state_machine_name: str,
                 functions: Mapping[str, lambda_.IFunction], substitution_names: Mapping[str, str],
                 notifications: Notifications, log_retention: logs.RetentionDays,
                 removal_policy: RemovalPolicy = RemovalPolicy.RETAIN) -> None:
        """`substitution_names` maps a step key to its `${…FunctionArn}` variable name."""
        super().__init__(scope, construct_id)
        definition = definition_path.read_text()
        substitutions = {substitution_names[key]: fn.function_arn for key, fn in functions.items()}
        substitutions[TOPIC_SUBSTITUTION] = notifications.topic.topic_arn
        substitutions.update(integration_arns(Aws.PARTITION))
        expected = substitutions_in(definition)
        if missing := sorted(expected - substitutions.keys()):
            # CloudFormation would leave them as literal text, and the execution would fail on them.
            raise ValueError(f"{definition_path} uses substitutions no step provides: {', '.join(missing)}")
        if unused := sorted(set(substitutions) - expected):
            Annotations.of(self).add_warning_v2(
                "cutover:unusedFunctions", f"{definition_path.name} does not use {', '.join(unused)}")

        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention, removal_policy=removal_policy)
        # Defined from the file's text, not uploaded as an S3 asset: the template then shows the flow
        # (`cdk diff` shows a change to it, cfn-lint validates it) and the file is deployed verbatim.
        self.state_machine = sfn.StateMachine(
            self, "StateMachine",
            state_machine_name=state_machine_name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_string(definition),
            definition_substitutions=substitutions,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
            tracing_enabled=True,
        )
        self.state_machine.add_to_role_policy(iam.PolicyStatement(
            actions=["lambda:InvokeFunction"],
            resources=[fn.function_arn for fn in functions.values()],
        ))
        notifications.grant_publish(self.state_machine)
        Validations.of(self.state_machine.role).acknowledge(Acknowledgment(
            id="AwsSolutions-IAM5[Resource::*]",
            reason="Execution logging (logs:*LogDelivery, PutResourcePolicy, DescribeResourcePolicies, "
                   "DescribeLogGroups) and X-Ray tracing calls do not support resource-level permissions."))
