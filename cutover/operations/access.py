"""Who may do what with Cutover from outside the stack: the CI role that starts releases, the
people who approve and stop them, and readers (`plan`, `status`, `history`, nothing changed). One source for
`cutover iam-policy ci|approver|reader` and the stack's managed policies, so the printed policy is
the deployed one; tests/cli/test_iam_policies.py runs the commands under each printed policy.

Each statement says why. Read calls of Elastic Load Balancing, Application Auto Scaling and
CloudWatch `Describe*` support no resource-level permissions (Service Authorization Reference), nor
do `states:SendTaskSuccess` / `SendTaskFailure`: a callback is authorized by its task token, which
only someone allowed to read the execution's history can get.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ROLES = ("ci", "approver", "reader")


@dataclass(frozen=True)
class Targets:
    """The resources the policies name; placeholders (`${…}`) when printed without a deployment."""

    state_machine_arn: str = "arn:aws:states:${Region}:${Account}:stateMachine:${StateMachineName}"
    executions_arn: str = "arn:aws:states:${Region}:${Account}:execution:${StateMachineName}:*"
    stack_arn: str = "arn:aws:cloudformation:${Region}:${Account}:stack/${StackName}/*"
    config_objects_arns: tuple[str, ...] = ("arn:aws:s3:::${ConfigBucket}/*",)
    table_arn: str = "arn:aws:dynamodb:${Region}:${Account}:table/${ReleaseTableName}"
    config_key_arns: tuple[str, ...] = ()
    """Customer managed KMS keys of the config buckets (SSE-KMS): uploading needs kms:GenerateDataKey."""

    @classmethod
    def of_state_machine(cls, state_machine_arn: str, **others: Any) -> Targets:
        """Targets of a known state machine: its executions are `…:execution:<machine name>:*`."""
        prefix, _, name = state_machine_arn.rpartition(":stateMachine:")
        return cls(state_machine_arn=state_machine_arn, executions_arn=f"{prefix}:execution:{name}:*", **others)


def _statement(sid: str, actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources}


def _follow(targets: Targets) -> list[dict[str, Any]]:
    """Find the state machine through the stack's output, read executions and their history, and the
    undo of a release that ended outside its flow (an execution of `<machine>-Undo` of the same name)."""
    undos = targets.executions_arn.removesuffix(":*") + "-Undo:*"
    return [
        _statement("FindTheStateMachine", ["cloudformation:DescribeStacks"], [targets.stack_arn]),
        _statement("FollowReleases", ["states:DescribeExecution", "states:GetExecutionHistory"],
                   [targets.executions_arn, undos]),
        # The lock (who holds it), the release record and the ledger (`cutover releases`).
        _statement("ReadLocksRecordsAndLedger", ["dynamodb:GetItem", "dynamodb:BatchGetItem"], [targets.table_arn]),
    ]


def _plan(targets: Targets) -> list[dict[str, Any]]:
    """What `cutover plan` reads: the service's lock and record, and what the release would change."""
    return [
        # The lock and the release record are read under ReadLocksRecordsAndLedger (_follow), who holds
        # the lock under FollowReleases.
        # These reads take no resource ARN (Service Authorization Reference).
        _statement("PlanReadsTheWorld", [
            "ecs:DescribeClusters", "ecs:DescribeServices", "ecs:DescribeTaskDefinition", "tag:GetResources",
            "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetGroups",
            "elasticloadbalancing:DescribeTags",
            "application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies",
            # The alarms the switch looks at first (ReadLiveRoutes' read): composite ones answer only on `*`.
            "cloudwatch:DescribeAlarms",
        ], ["*"]),
    ]


def policy(role: str, targets: Targets | None = None) -> dict[str, Any]:
    """The IAM policy document for `role` (ci, approver or reader)."""
    targets = targets or Targets()
    if role == "ci":
        statements = [
            _statement("StartReleases", ["states:StartExecution"], [targets.state_machine_arn]),
            *_follow(targets),
            # `cutover start --config-uri` uploads nothing itself; the workflow's `aws s3 cp` does, and
            # start reads the service name back for the execution name. No buckets: configs go inline.
            *([_statement("UploadDeployConfigs", ["s3:PutObject", "s3:GetObject"], list(targets.config_objects_arns))]
              if targets.config_objects_arns else []),
            # A bucket encrypted with a customer managed key: S3 asks KMS for a data key on upload, and
            # to decrypt it on the read back (Amazon S3 user guide, "Using SSE-KMS": permissions).
            *([_statement("EncryptDeployConfigs", ["kms:Decrypt", "kms:GenerateDataKey"], list(targets.config_key_arns))]
              if targets.config_key_arns and targets.config_objects_arns else []),
            *_plan(targets),
        ]
    elif role == "reader":
        statements = [*_follow(targets), *_plan(targets)]
    elif role == "approver":
        statements = [
            *_follow(targets),
            # The token comes from the execution history (FollowReleases); `reject` sends a success
            # carrying the decision, so the failure call is not needed.
            _statement("AnswerApprovals", ["states:SendTaskSuccess"], ["*"]),
            # `cutover stop`: operators approve and stop. Only the release's executions, not their undos.
            _statement("StopReleases", ["states:StopExecution"], [targets.executions_arn]),
        ]
    else:
        raise ValueError(f"role {role!r}: one of {', '.join(ROLES)}")
    # sts:GetCallerIdentity, which approve and reject record, needs no permission.
    return {"Version": "2012-10-17", "Statement": statements}
