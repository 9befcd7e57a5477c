"""Managed policies for the CI role that starts releases and for approvers, built from
`cutover.operations.access`: the documents `cutover iam-policy ci|approver` prints, with this stack's ARNs."""
from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, Aws, Stack, Validations
from aws_cdk import aws_iam as iam
from constructs import Construct

from cutover.operations import access
from cutover.cdk.permissions import arn, nag_form


def _why(resource: str) -> str:
    if resource == "*":
        return ("The Describe calls of ELB and Application Auto Scaling, ECS listing, and states:SendTaskSuccess "
                "(authorized by its task token) support no resource-level permissions.")
    if ":execution:" in resource:
        return "Executions of the release state machine only; CI names them at run time."
    return "Deploy config objects in the config buckets only; CI names the keys per release."


class AccessPolicies(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, state_machine_arn: str, state_machine_name: str,
                 config_bucket_names: Sequence[str], table_arn: str, config_key_arns: Sequence[str] = ()) -> None:
        super().__init__(scope, construct_id)
        targets = access.Targets(
            state_machine_arn=state_machine_arn,
            executions_arn=arn("states", f"execution:{state_machine_name}:*"),
            stack_arn=Stack.of(self).stack_id,
            config_objects_arns=tuple(f"arn:{Aws.PARTITION}:s3:::{bucket}/*" for bucket in config_bucket_names),
            table_arn=table_arn,
            config_key_arns=tuple(config_key_arns),
        )
        self.policies = {
            role: iam.ManagedPolicy(self, role.capitalize(), description=f"Cutover: what the {role} may do with releases",
                                    document=iam.PolicyDocument.from_json(access.policy(role, targets)))
            for role in access.ROLES
        }
        wildcards = sorted({r for role in access.ROLES for s in access.policy(role, targets)["Statement"]
                            for r in s["Resource"] if "*" in r})
        Validations.of(self).acknowledge(*(
            Acknowledgment(id=f"AwsSolutions-IAM5[{nag_form(resource)}]", reason=_why(resource))
            for resource in wildcards))
