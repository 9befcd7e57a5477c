"""`CutoverStack`: the release orchestrator configured from CDK context, and the outputs the CLI needs."""
from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from cutover.cdk.orchestrator import ReleaseOrchestrator
from cutover.cdk.settings import ReleaseOrchestratorProps


class CutoverStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, props: ReleaseOrchestratorProps | None = None,
                 **kwargs: Any) -> None:
        super().__init__(scope, construct_id, description="Cutover: careful releases of ECS services behind ALBs",
                         **kwargs)
        props = props or ReleaseOrchestratorProps.from_context(self.node)
        # One orchestrator per Cutover stack: its state machine keeps the readable `<stack>-Release` name.
        props = replace(props, state_machine_name=props.state_machine_name or f"{self.stack_name}-Release")
        orchestrator = ReleaseOrchestrator(self, "Orchestrator", props=props)
        CfnOutput(self, "StateMachineArn", value=orchestrator.state_machine.state_machine_arn,
                  description="Start releases here (cutover start, or StartExecution from CI)")
        CfnOutput(self, "NotificationTopicArn", value=orchestrator.topic.topic_arn)
        CfnOutput(self, "ReleaseTableName", value=orchestrator.table.table_name)
        # What `cutover adopt` checks a service's names against: the names the release functions may change.
        CfnOutput(self, "NameScope", value=json.dumps({"service_name_prefix": props.service_name_prefix,
                                                       "target_group_name_prefix": props.target_group_name_prefix}),
                  description="The ECS service and target group name prefixes the release functions may change")
        CfnOutput(self, "CiPolicyArn", value=orchestrator.ci_policy.managed_policy_arn,
                  description="Attach to the role CI assumes to start and follow releases")
        CfnOutput(self, "ApproverPolicyArn", value=orchestrator.approver_policy.managed_policy_arn,
                  description="Attach to the roles of the people who approve releases")
        CfnOutput(self, "ReaderPolicyArn", value=orchestrator.reader_policy.managed_policy_arn,
                  description="Attach to roles that plan releases and read their status and history, changing nothing")
