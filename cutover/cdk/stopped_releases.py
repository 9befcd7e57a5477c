"""Undoes and unlocks a release that ended outside its flow: stopped by hand, timed out, or failed
where no Catch sees it (States.Runtime, States.DataLimitExceeded)."""
from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct


class StoppedReleaseUnlock(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, state_machine: sfn.IStateMachine,
                 undo_function: lambda_.IFunction) -> None:
        super().__init__(scope, construct_id)
        # StopExecution, the execution timeout and errors no Catch sees skip every state, the undo and
        # unlock states included; without this the prepared version would keep running and the next
        # release would wait to find the lock stale.
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
