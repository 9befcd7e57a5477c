"""Alarms on releases that end badly (failed, timed out, aborted), sent to the notification topic."""
from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct


class Monitoring(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, state_machine: sfn.StateMachine,
                 topic: sns.ITopic) -> None:
        super().__init__(scope, construct_id)
        period = Duration.minutes(1)
        metrics = {
            "ExecutionsFailed": (state_machine.metric_failed(period=period),
                                 "A release failed: check its execution history; production was put back."),
            "ExecutionsTimedOut": (state_machine.metric_timed_out(period=period),
                                   "A release timed out before finishing."),
            "ExecutionsAborted": (state_machine.metric_aborted(period=period),
                                  "A release was stopped by hand; its lock and prepared version may remain."),
        }
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for name, (metric, description) in metrics.items():
            alarm = cloudwatch.Alarm(
                self, name,
                alarm_description=description,
                metric=metric.with_(statistic=cloudwatch.Stats.SUM),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                # No releases means no data, which is not a problem.
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(actions.SnsAction(topic))
            self.alarms[name] = alarm
