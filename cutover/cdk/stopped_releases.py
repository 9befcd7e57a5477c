"""Undoes and unlocks a release that ended outside its flow (stopped by hand, timed out, or failed
where no Catch sees it): the status-change rule, the undo's own state machine, the sweep that
finds what no status change undid, and the alarm when an undo fails for good."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import Acknowledgment, Validations
from constructs import Construct

from cutover.cdk.notifications import Notifications
from cutover.cdk.state_machine import substitutions_in
from cutover_steps.registry import STOPPED_RELEASE_HANDLER
from cutover_steps.decisions.stopping import undo_state_machine_name


class StoppedReleaseUnlock(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, state_machine: sfn.IStateMachine,
                 state_machine_name: str, undo_function: lambda_.Function, definition_path: Path,
                 function_timeouts: Mapping[str, tuple[lambda_.IFunction, int]], notifications: Notifications,
                 sweep_minutes: int, log_retention: logs.RetentionDays,
                 removal_policy: RemovalPolicy = RemovalPolicy.RETAIN) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        name = undo_state_machine_name(state_machine_name)
        definition = definition_path.read_text()
        substitution = f"{STOPPED_RELEASE_HANDLER}FunctionArn"
        if substitutions_in(definition) != {substitution}:
            raise ValueError(f"{definition_path} must use exactly one substitution, ${{{substitution}}}")
        # The undo's own execution, one per release execution and named after it: StopExecution and
        # the execution timeout do not stop a running function, and EventBridge delivers at least
        # once; the undo waits out the function and a second start of the same name runs nothing twice.
        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention, removal_policy=removal_policy)
        self.state_machine = sfn.StateMachine(
            self, "UndoStateMachine",
            state_machine_name=name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_string(definition),
            definition_substitutions={substitution: undo_function.function_arn},
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
            tracing_enabled=True,
        )
        self.state_machine.add_to_role_policy(iam.PolicyStatement(
            actions=["lambda:InvokeFunction"], resources=[undo_function.function_arn]))
        Validations.of(self.state_machine.role).acknowledge(Acknowledgment(
            id="AwsSolutions-IAM5[Resource::*]",
            reason="Execution logging (logs:*LogDelivery, PutResourcePolicy, DescribeResourcePolicies, "
                   "DescribeLogGroups) and X-Ray tracing calls do not support resource-level permissions."))
        # A plain string, not the attribute: the machine refers to the function, which must start it.
        undo_function.add_environment(
            "UNDO_STATE_MACHINE_ARN", f"arn:{stack.partition}:states:{stack.region}:{stack.account}:stateMachine:{name}")
        # How long a function the release scheduled may run after its execution ended.
        undo_function.add_environment("FUNCTION_TIMEOUTS", stack.to_json_string(
            [[function.function_arn, seconds] for function, seconds in function_timeouts.values()]))

        # A status change that the function fails to handle is tried twice more by Lambda, then kept
        # in this queue (the sweep finds its release all the same).
        self.dead_letters = sqs.Queue(self, "UndoDeadLetters", retention_period=Duration.days(14),
                                      encryption=sqs.QueueEncryption.SQS_MANAGED)
        Validations.of(self.dead_letters).acknowledge(
            Acknowledgment(id="AwsSolutions-SQS3", reason="It is the dead-letter queue: of the undo's status changes."),
            Acknowledgment(id="AwsSolutions-SQS4", reason=(
                "Only Lambda writes to it, over TLS; a policy denying plain HTTP would name `sqs:*`, which the "
                "stack's least-privilege test refuses in any policy.")))
        undo_function.configure_async_invoke(retry_attempts=2,
                                             on_failure=destinations.SqsDestination(self.dead_letters))
        # StopExecution, the execution timeout and errors no Catch sees skip every state, the undo and
        # unlock states included; without this the prepared version would keep running.
        self.rule = events.Rule(
            self, "Rule",
            description="Undo a Cutover release that was stopped, timed out or failed outside its flow, and release its lock",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={"stateMachineArn": [state_machine.state_machine_arn], "status": ["ABORTED", "TIMED_OUT", "FAILED"]},
            ),
            targets=[targets.LambdaFunction(undo_function, retry_attempts=8)],
        )
        # The safety net: status changes are delivered best effort. Every few minutes, a lock held by
        # an execution that has ended gets its undo started (or finds it started already).
        sweeper = iam.Role(self, "SweepRole", assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"),
                           description="EventBridge Scheduler invokes the undo function to sweep for undos")
        Validations.of(sweeper).acknowledge(Acknowledgment(
            id=f"AwsSolutions-IAM5[Resource::<{stack.get_logical_id(undo_function.node.default_child)}.Arn>:*]",
            reason="lambda:InvokeFunction on the undo function and its versions, as CDK grants an invoke."))
        self.sweep = scheduler.Schedule(
            self, "Sweep",
            description="Start the undo of Cutover releases that ended holding their lock and that no status change undid",
            schedule=scheduler.ScheduleExpression.rate(Duration.minutes(sweep_minutes)),
            target=scheduler_targets.LambdaInvoke(undo_function, role=sweeper,
                                                  input=scheduler.ScheduleTargetInput.from_object({"sweep": True})),
        )
        period = Duration.minutes(1)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for alarm_name, metric, description in (
            ("UndoFailed", self.state_machine.metric_failed(period=period),
             "The undo of a stopped, timed-out or failed release failed for good: `cutover status` says what is left."),
            ("UndoEventsDropped", self.dead_letters.metric_approximate_number_of_messages_visible(period=period),
             "Status changes the undo could not handle after three tries; the sweep starts their undo."),
        ):
            alarm = cloudwatch.Alarm(
                self, alarm_name, alarm_description=description, metric=metric.with_(statistic=cloudwatch.Stats.MAXIMUM),
                threshold=1, evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
            alarm.add_alarm_action(actions.SnsAction(notifications.topic))
            self.alarms[alarm_name] = alarm
