"""Every Lambda step of the release: the one list the CDK stack and the local engine both read.

The key is the step's name in the state machine definition: `${<key>FunctionArn}` there is
substituted with the function's ARN. `calls` are the AWS API calls the step makes (IAM actions),
plus what AWS authorizes besides them (tags on create, roles passed, Application Auto Scaling's
own checks), from which the stack grants least privilege. The local engine refuses a call that is
not granted, and the test suite fails on a grant that no test ever uses.
"""
from __future__ import annotations

from dataclasses import dataclass

# The Step Functions service integrations the definition uses, each by the substitution that stands
# for its whole ARN: written as `arn:aws:…` the definition would run in the `aws` partition only,
# and a whole-value substitution keeps the definition checkable by cfn-lint.
INTEGRATIONS = {
    "LambdaInvokeWaitForTaskTokenArn": "lambda:invoke.waitForTaskToken",
    "SnsPublishArn": "sns:publish",
}


def integration_arns(partition: str) -> dict[str, str]:
    return {name: f"arn:{partition}:states:::{integration}" for name, integration in INTEGRATIONS.items()}


@dataclass(frozen=True)
class Step:
    key: str
    module: str
    description: str
    calls: tuple[str, ...]
    timeout_seconds: int = 60

    def __post_init__(self) -> None:
        # The shared checks above overlap with a step's own calls; each action is listed once.
        object.__setattr__(self, "calls", tuple(dict.fromkeys(self.calls)))

    @property
    def handler(self) -> str:
        return f"{self.module}.handler"

    @property
    def substitution(self) -> str:
        return f"{self.key}FunctionArn"


# Application Auto Scaling checks that whoever registers, deregisters or changes the scaling of an ECS
# service may itself describe and update the service and manage its alarms.
AUTOSCALING_CHECKS = ("ecs:DescribeServices", "ecs:UpdateService", "cloudwatch:DescribeAlarms",
                      "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms")
# The first RegisterScalableTarget for ECS in an account creates Application Auto Scaling's service-linked role.
AUTOSCALING_ROLE = ("iam:CreateServiceLinkedRole",)

STEPS: tuple[Step, ...] = (
    Step("LoadRelease", "release.steps.load", "Load and validate the deploy config and compute the plan",
         ("s3:GetObject", "dynamodb:GetItem", "ecs:DescribeClusters", "elasticloadbalancing:DescribeRules",
          "cloudwatch:DescribeAlarms", "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTags",
          "ecs:DescribeServices")),
    Step("LockService", "release.steps.lock", "Take the service's release lock",
         ("dynamodb:PutItem", "dynamodb:GetItem", "states:DescribeExecution")),
    Step("UnlockService", "release.steps.unlock", "Release the service's release lock",
         ("dynamodb:DeleteItem", "dynamodb:GetItem")),
    Step("CreateTargetGroups", "release.steps.target_groups", "Create the new version's target groups",
         ("elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:AddTags",
          "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTags")),
    Step("AttachPreparingRules", "release.steps.preparing_rules", "Point the preparing rules at the new version",
         ("elasticloadbalancing:DescribeRules", "elasticloadbalancing:ModifyRule")),
    Step("RegisterTaskDefinition", "release.steps.task_definition", "Register the completed task definition",
         ("ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition",
          "ecs:DescribeServices", "ecs:TagResource", "iam:PassRole")),
    Step("CreateService", "release.steps.service", "Create the new version's ECS service and its autoscaling",
         ("ecs:CreateService", "ecs:DescribeServices", "ecs:UpdateService", "ecs:TagResource", "ecs:UntagResource",
          "elasticloadbalancing:RemoveTags",
          "application-autoscaling:RegisterScalableTarget", "application-autoscaling:DescribeScalableTargets",
          "application-autoscaling:PutScalingPolicy", "application-autoscaling:DescribeScalingPolicies",
          *AUTOSCALING_CHECKS, *AUTOSCALING_ROLE)),
    Step("CheckHealth", "release.steps.health", "Count healthy targets in each new target group",
         ("elasticloadbalancing:DescribeTargetHealth",)),
    Step("VerifyPrepared", "release.steps.verify", "Run the verification checks on the prepared version",
         ("lambda:InvokeFunction",)),
    Step("RequestApproval", "release.steps.approval", "Ask an operator to approve, with the task token",
         ("sns:Publish",)),
    Step("WatchAlarms", "release.steps.alarms", "Check the configured CloudWatch alarms and the hold verification checks",
         ("cloudwatch:DescribeAlarms", "lambda:InvokeFunction")),
    Step("ReadLiveRoutes", "release.steps.live_routes", "Read what each public rule forwards to now",
         ("elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTags")),
    Step("ShiftTraffic", "release.steps.traffic", "Set the public rules' weights for one traffic step",
         ("elasticloadbalancing:DescribeRules", "elasticloadbalancing:ModifyRule")),
    Step("RetireOldVersion", "release.steps.retire", "Scale the old version to zero, keeping its autoscaling for a rollback",
         ("application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies",
          "application-autoscaling:DeregisterScalableTarget", "ecs:DescribeServices", "ecs:UpdateService",
          "dynamodb:GetItem", "dynamodb:UpdateItem", "elasticloadbalancing:DescribeRules", *AUTOSCALING_CHECKS)),
    Step("CleanUp", "release.steps.cleanup", "Delete versions an earlier release marked obsolete",
         ("tag:GetResources", "ecs:DescribeServices", "ecs:DeleteService", "elasticloadbalancing:DescribeTargetGroups",
          "ecs:DescribeTaskDefinition", "ecs:DeregisterTaskDefinition", "ecs:DeleteTaskDefinitions",
          "elasticloadbalancing:DeleteTargetGroup"), timeout_seconds=300),
    Step("MarkObsolete", "release.steps.obsolete", "Tag the retired version obsolete for the next release",
         ("elasticloadbalancing:AddTags", "elasticloadbalancing:DescribeTags", "ecs:TagResource", "ecs:DescribeServices",
          "dynamodb:GetItem")),
    Step("RecordRelease", "release.steps.record", "Record what serves now and what can be rolled back to",
         ("dynamodb:GetItem", "dynamodb:UpdateItem")),
    Step("NotifySucceeded", "release.steps.notify", "Tell people the release succeeded, and what is left to do",
         ("sns:Publish",)),
    Step("TearDownPrepared", "release.steps.teardown", "Undo a release that failed before traffic moved",
         ("elasticloadbalancing:DescribeRules", "elasticloadbalancing:ModifyRule",
          "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:AddTags", "elasticloadbalancing:DescribeTags",
          "elasticloadbalancing:DeleteTargetGroup", "ecs:DescribeServices", "ecs:UpdateService",
          "ecs:DeleteService", "ecs:TagResource", "application-autoscaling:DescribeScalableTargets",
          "application-autoscaling:DescribeScalingPolicies", "application-autoscaling:DeregisterScalableTarget",
          *AUTOSCALING_CHECKS), timeout_seconds=120),
    Step("RollBackTraffic", "release.steps.rollback_traffic", "Put traffic back on the old version after a failure",
         ("elasticloadbalancing:DescribeRules", "elasticloadbalancing:ModifyRule",
          "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:AddTags", "elasticloadbalancing:DescribeTags",
          "elasticloadbalancing:DeleteTargetGroup", "ecs:DescribeServices", "ecs:UpdateService", "ecs:DeleteService",
          "ecs:TagResource", "dynamodb:GetItem",
          "application-autoscaling:RegisterScalableTarget", "application-autoscaling:PutScalingPolicy",
          "application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies",
          "application-autoscaling:DeregisterScalableTarget", *AUTOSCALING_CHECKS, *AUTOSCALING_ROLE),
         timeout_seconds=120),
    Step("UndoStoppedRelease", "release.steps.stopped",
         "Undo a release stopped by hand, timed out or failed outside its flow, as a failure at that point; free its lock",
         ("states:GetExecutionHistory", "sns:Publish", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem",
          "dynamodb:Scan",
          "elasticloadbalancing:DescribeRules", "elasticloadbalancing:ModifyRule", "elasticloadbalancing:DescribeTargetHealth",
          "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:AddTags", "elasticloadbalancing:DescribeTags",
          "elasticloadbalancing:DeleteTargetGroup", "ecs:DescribeServices", "ecs:UpdateService", "ecs:DeleteService",
          "ecs:TagResource", "application-autoscaling:RegisterScalableTarget", "application-autoscaling:PutScalingPolicy",
          "application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies",
          "application-autoscaling:DeregisterScalableTarget", *AUTOSCALING_CHECKS, *AUTOSCALING_ROLE),
         # It waits for the old version's health itself (no state of the definition runs after a stop).
         timeout_seconds=900),
)

BY_KEY = {step.key: step for step in STEPS}
# The steps that run verification checks: their functions may invoke the check functions, and run in
# the service's VPC when the stack is given subnets for HTTP checks.
CHECK_RUNNERS = ("VerifyPrepared", "WatchAlarms")
# What the EventBridge rule for executions that end outside the flow (stopped, timed out, uncaught failure) calls.
STOPPED_RELEASE_HANDLER = "UndoStoppedRelease"
