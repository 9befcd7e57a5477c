"""Every Lambda step of the release: the one list the CDK stack, the local engine and the command
line read, and the one place that ties a step's names together.

The key is the root of a step's names: `${<key>FunctionArn}` in the state machine definition is
substituted with the function's ARN, its handler is `cutover_steps.steps.<key in snake_case>`, and its
function's construct is named by the key. The result type reads and describes what it returns
(`cutover_steps.results`). The states that run a step, and where each puts
its result (ResultPath), are read from the definition itself (`task_states`): a state is renamed
or added there and nowhere else. Only the keys under `$.results` are also named here (`result_keys`),
because the step functions, which read earlier results by them, run without the definition; a test
holds the two equal. `calls` are the AWS API calls the step makes (IAM actions),
plus what AWS authorizes besides them (tags on create, roles passed, Application Auto Scaling's
own checks), from which the stack grants least privilege. The local engine refuses a call that is
not granted, and the test suite fails on a grant that no test ever uses.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from botocore import xform_name

from cutover_steps import results
from cutover_steps.results import StepResult

# The Step Functions service integrations the definition uses, each by the substitution that stands
# for its whole ARN: written as `arn:aws:…` the definition would run in the `aws` partition only,
# and a whole-value substitution keeps the definition checkable by cfn-lint.
INTEGRATIONS = {
    "LambdaInvokeWaitForTaskTokenArn": "lambda:invoke.waitForTaskToken",
    "SnsPublishArn": "sns:publish",
}
# What a state that calls an integration directly (not through a step's function) returns.
INTEGRATION_RESULTS: dict[str, type[StepResult]] = {"SnsPublishArn": results.Published}


def integration_arns(partition: str) -> dict[str, str]:
    return {name: f"arn:{partition}:states:::{integration}" for name, integration in INTEGRATIONS.items()}


@dataclass(frozen=True)
class Step:
    key: str
    # What lands at the ResultPath of the states that run the step (for a task-token wait: the answer sent back).
    result: type[StepResult]
    description: str
    calls: tuple[str, ...]
    timeout_seconds: int = 60
    # Where the states that run the step put its result, `$.results.<key>` (the definition's ResultPath,
    # which a test holds to this): how later steps read it, typed (cutover_steps.runtime.earlier_results).
    result_keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # The shared checks above overlap with a step's own calls; each action is listed once.
        object.__setattr__(self, "calls", tuple(dict.fromkeys(self.calls)))

    @property
    def module(self) -> str:
        """The module of the step's handler, named after the key: `CheckHealth` -> `cutover_steps.steps.check_health`."""
        return f"cutover_steps.steps.{xform_name(self.key)}"

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

# The steps that wait inside their invocation (a health wait, a traffic hold) get Lambda's longest
# time limit: a wait of up to about 13 minutes costs one invocation and two state transitions, and a
# longer one one more loop per limit. The price is Lambda duration while they sleep (256 MB: about
# $0.0025 for ten minutes), against a Wait, a look and a Choice per poll ($0.000075 each).
HOLDING_TIMEOUT_SECONDS = 900

# What the EventBridge rule for every ended execution calls: the release ledger (cutover_steps.decisions.ledger).
LEDGER_WRITER = "RecordInLedger"

STEPS: tuple[Step, ...] = (
    Step("LoadRelease", results.Planned, "Load and validate the deploy config and compute the plan",
         ("s3:GetObject", "dynamodb:GetItem", "ecs:DescribeClusters", "elasticloadbalancing:DescribeRules",
          "cloudwatch:DescribeAlarms", "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTags",
          "ecs:DescribeServices")),
    Step("LockService", results.Lock, "Take the service's release lock",
         ("dynamodb:PutItem", "dynamodb:GetItem", "states:DescribeExecution"),
         result_keys=("lock",)),
    Step("UnlockService", results.Unlock, "Release the service's release lock",
         ("dynamodb:DeleteItem", "dynamodb:GetItem"),
         result_keys=("unlock",)),
    Step("CreateTargetGroups", results.TargetGroups, "Create the new version's target groups",
         ("elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:AddTags",
          "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTags"),
         result_keys=("target_groups",)),
    Step("AttachPreparingRules", results.PreparingRules, "Point the preparing rules at the new version",
         ("elasticloadbalancing:DescribeRules", "elasticloadbalancing:ModifyRule"),
         result_keys=("preparing",)),
    Step("RegisterTaskDefinition", results.TaskDefinition, "Register the completed task definition",
         ("ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition",
          "ecs:DescribeServices", "ecs:TagResource", "iam:PassRole"),
         result_keys=("task_definition",)),
    Step("CreateService", results.Service, "Create the new version's ECS service and its autoscaling",
         ("ecs:CreateService", "ecs:DescribeServices", "ecs:UpdateService", "ecs:TagResource", "ecs:UntagResource",
          "elasticloadbalancing:RemoveTags",
          "application-autoscaling:RegisterScalableTarget", "application-autoscaling:DescribeScalableTargets",
          "application-autoscaling:PutScalingPolicy", "application-autoscaling:DescribeScalingPolicies",
          *AUTOSCALING_CHECKS, *AUTOSCALING_ROLE),
         result_keys=("service",)),
    Step("CheckHealth", results.Health, "Poll the healthy count of each new target group until it suffices",
         ("elasticloadbalancing:DescribeTargetHealth",), timeout_seconds=HOLDING_TIMEOUT_SECONDS,
         result_keys=("health", "recheck", "old_health")),
    Step("VerifyPrepared", results.Verified, "Run the verification checks on the prepared version",
         ("lambda:InvokeFunction",),
         result_keys=("verify",)),
    Step("RequestApproval", results.ApprovalAnswer, "Ask an operator to approve, with the task token",
         ("sns:Publish",),
         result_keys=("approval", "analysis_answer")),
    Step("WatchAlarms", results.Alarms, "Watch the alarms, the hold verification checks and the canary judge for a whole hold",
         ("cloudwatch:DescribeAlarms", "lambda:InvokeFunction", "cloudwatch:GetMetricData"), timeout_seconds=HOLDING_TIMEOUT_SECONDS,
         result_keys=("watch",)),
    Step("ReadLiveRoutes", results.LiveRoutes, "Check the alarms, then read what each public rule forwards to now",
         ("cloudwatch:DescribeAlarms", "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTags"),
         result_keys=("live",)),
    Step("SizeForTraffic", results.Sized,
         "Scale the new version to its share of the next traffic step and wait until it is healthy",
         ("ecs:DescribeServices", "ecs:UpdateService", "elasticloadbalancing:DescribeTargetHealth",
          "application-autoscaling:RegisterScalableTarget", *AUTOSCALING_CHECKS, *AUTOSCALING_ROLE),
         timeout_seconds=HOLDING_TIMEOUT_SECONDS,
         result_keys=("sizing",)),
    Step("ShiftTraffic", results.Traffic, "Set the public rules' weights for one traffic step",
         ("elasticloadbalancing:DescribeRules", "elasticloadbalancing:ModifyRule"),
         result_keys=("traffic",)),
    Step("RetireOldVersion", results.Retired, "Scale the old version to zero, keeping its autoscaling for a rollback",
         ("application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies",
          "application-autoscaling:RegisterScalableTarget", "ecs:DescribeServices", "ecs:UpdateService",
          "dynamodb:GetItem", "dynamodb:UpdateItem", "elasticloadbalancing:DescribeRules", *AUTOSCALING_CHECKS,
          *AUTOSCALING_ROLE),
         result_keys=("retire",)),
    Step("CleanUp", results.CleanedUp,
         "Delete versions an earlier release marked obsolete, then mark the one retired now for the next release",
         ("tag:GetResources", "ecs:DescribeServices", "ecs:DeleteService", "elasticloadbalancing:DescribeTargetGroups",
          "ecs:DescribeTaskDefinition", "ecs:DeregisterTaskDefinition", "ecs:DeleteTaskDefinitions",
          "elasticloadbalancing:DeleteTargetGroup",
          "elasticloadbalancing:AddTags", "ecs:TagResource"),
         timeout_seconds=300,
         result_keys=("cleanup",)),
    Step("RecordRelease", results.Recorded, "Record what serves now and what can be rolled back to",
         ("dynamodb:GetItem", "dynamodb:UpdateItem"),
         result_keys=("record",)),
    Step("NotifySucceeded", results.Notified, "Tell people the release succeeded, and what is left to do",
         ("sns:Publish",),
         result_keys=("notify",)),
    Step("TearDownPrepared", results.Undone, "Undo a release that failed before traffic moved",
         ("elasticloadbalancing:DescribeRules", "elasticloadbalancing:ModifyRule",
          "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:AddTags", "elasticloadbalancing:DescribeTags",
          "elasticloadbalancing:DeleteTargetGroup", "ecs:DescribeServices", "ecs:UpdateService",
          "ecs:DeleteService", "ecs:TagResource", "application-autoscaling:DescribeScalableTargets",
          "application-autoscaling:DescribeScalingPolicies", "application-autoscaling:RegisterScalableTarget",
          *AUTOSCALING_CHECKS, *AUTOSCALING_ROLE), timeout_seconds=120),
    Step("RollBackTraffic", results.Undone, "Put traffic back on the old version after a failure",
         ("elasticloadbalancing:DescribeRules", "elasticloadbalancing:ModifyRule",
          "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:AddTags", "elasticloadbalancing:DescribeTags",
          "elasticloadbalancing:DeleteTargetGroup", "ecs:DescribeServices", "ecs:UpdateService", "ecs:DeleteService",
          "ecs:TagResource", "dynamodb:GetItem",
          "application-autoscaling:RegisterScalableTarget", "application-autoscaling:PutScalingPolicy",
          "application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies",
          *AUTOSCALING_CHECKS, *AUTOSCALING_ROLE),
         timeout_seconds=120),
    Step("UndoStoppedRelease", results.StoppedUndone,
         "Undo a release stopped by hand, timed out or failed outside its flow, once nothing of it runs; free its lock",
         ("states:StartExecution", "states:DescribeExecution", "states:GetExecutionHistory", "sns:Publish", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem",
          "dynamodb:Scan",
          "elasticloadbalancing:DescribeRules", "elasticloadbalancing:ModifyRule", "elasticloadbalancing:DescribeTargetHealth",
          "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:AddTags", "elasticloadbalancing:DescribeTags",
          "elasticloadbalancing:DeleteTargetGroup", "ecs:DescribeServices", "ecs:UpdateService", "ecs:DeleteService",
          "ecs:TagResource", "application-autoscaling:RegisterScalableTarget",
          "application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies",
          *AUTOSCALING_CHECKS, *AUTOSCALING_ROLE),
         # Each phase of the undo's own state machine is one invocation; the health wait polls inside one.
         timeout_seconds=900),
    Step(LEDGER_WRITER, results.LedgerWritten,
         "Write an ended release, rollback or stop into the release ledger",
         ("states:GetExecutionHistory", "dynamodb:UpdateItem")),
)

BY_KEY = {step.key: step for step in STEPS}
# The steps that run verification checks: their functions may invoke the check functions, and run in
# the service's VPC when the stack is given subnets for HTTP checks.
CHECK_RUNNERS = ("VerifyPrepared", "WatchAlarms")
# What the EventBridge rule for executions that end outside the flow (stopped, timed out, uncaught failure) calls.
STOPPED_RELEASE_HANDLER = "UndoStoppedRelease"

# Steps whose functions change nothing of the account's releases (they read, invoke the user's checks,
# or ask for approval): the undo of a stopped release need not wait for one of them to end.
CHANGES_NOTHING = ("CheckHealth", "VerifyPrepared", "RequestApproval", "WatchAlarms", "ReadLiveRoutes")


def may_change_after_a_stop(key: str) -> int:
    """How long the undo of a stopped release waits for this step's function, once scheduled: its
    timeout, or 0 for a step that changes nothing."""
    return 0 if key in CHANGES_NOTHING else BY_KEY[key].timeout_seconds


# The step whose states wait for an operator's answer on a task token: the approval of the prepared
# version, and the question of a hold whose canary analysis ended inconclusive (`inconclusive: ask`),
# whose state passes QUESTION: ANALYSIS_QUESTION in its payload.
APPROVAL = "RequestApproval"
QUESTION = "question"
ANALYSIS_QUESTION = "analysis"

_SUBSTITUTION = re.compile(r"^\$\{(\w+)\}$")


@dataclass(frozen=True)
class TaskState:
    """A Task state of the definition: the step it runs (None when it calls an integration itself),
    where its result lands and the type that reads it."""
    name: str
    step: Step | None
    result_path: str | None
    result: type[StepResult]

    @property
    def result_key(self) -> str | None:
        """The last part of the ResultPath (`$.results.health` -> `health`): how later steps name the result."""
        return self.result_path.rsplit(".", 1)[-1] if self.result_path else None

    def read(self, output: Any) -> StepResult | None:
        """The state's output as the history holds it, typed; None when there is none."""
        return self.result.from_json(output)


def step_key_of(state: dict[str, Any]) -> str | None:
    """The registry key of the Lambda function a Task state runs, directly or through lambda:invoke."""
    if state.get("Type") != "Task":
        return None
    # A function as the resource, or named in the parameters of the lambda:invoke integration
    # (whose ARN the definition takes by substitution, to follow the stack's partition).
    for text in (state.get("Resource", ""), str((state.get("Parameters") or {}).get("FunctionName", ""))):
        match = _SUBSTITUTION.match(text)
        if match and match.group(1).endswith("FunctionArn"):
            key = match.group(1)[: -len("FunctionArn")]
            if key not in BY_KEY:
                raise KeyError(f"state runs ${{{key}FunctionArn}}, which is no step of the registry")
            return key
    return None


def task_states(definition: dict[str, Any]) -> dict[str, TaskState]:
    """State name -> TaskState, for every Task state of the definition (in its order)."""
    found = {}
    for name, state in definition["States"].items():
        if state.get("Type") != "Task":
            continue
        key = step_key_of(state)
        if key is not None:
            result = BY_KEY[key].result
        else:
            substitution = (_SUBSTITUTION.match(state.get("Resource", "")) or [None, None])[1]
            if substitution not in INTEGRATION_RESULTS:
                raise KeyError(f"state {name!r} runs {state.get('Resource')!r}: neither a step nor a known integration")
            result = INTEGRATION_RESULTS[substitution]
        found[name] = TaskState(name, BY_KEY.get(key) if key else None, state.get("ResultPath", "$"), result)
    return found
