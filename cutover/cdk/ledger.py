"""The release ledger's writer: every ended execution of the release state machine (succeeded, failed,
timed out, stopped) goes to its function, which keeps the entry in the release table for
`ledger_retention_days` (DynamoDB TTL), beyond the 90 days Step Functions keeps the history."""
from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct



class ReleaseLedger(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, state_machine: sfn.IStateMachine,
                 writer: lambda_.Function, retention_days: int) -> None:
        super().__init__(scope, construct_id)
        writer.add_environment("LEDGER_RETENTION_DAYS", str(retention_days))
        self.rule = events.Rule(
            self, "Rule",
            description="Write every ended Cutover release, rollback and stop into the release ledger",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={"stateMachineArn": [state_machine.state_machine_arn],
                        "status": ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]},
            ),
            targets=[targets.LambdaFunction(writer, retry_attempts=8)],
        )


