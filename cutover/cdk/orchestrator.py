"""`ReleaseOrchestrator`: everything Cutover deploys, as one construct a team can put in its own CDK app."""
from __future__ import annotations

from aws_cdk import Names
from constructs import Construct
from cutover_steps.registry import LEDGER_WRITER, STEPS, STOPPED_RELEASE_HANDLER, may_change_after_a_stop

from cutover.cdk.access_policies import AccessPolicies
from cutover.cdk.monitoring import Monitoring
from cutover.cdk.notifications import Notifications
from cutover.cdk.permissions import ResourceScope
from cutover.cdk.release_functions import CheckNetwork, ReleaseFunctions
from cutover.cdk.ledger import ReleaseLedger
from cutover.cdk.release_table import ReleaseTable
from cutover.cdk.settings import ReleaseOrchestratorProps
from cutover.cdk.state_machine import ReleaseStateMachine
from cutover.cdk.stopped_releases import StoppedReleaseUnlock


class ReleaseOrchestrator(Construct):
    """The Cutover release workflow: state machine, one function per step, lock table, topic and alarms.

    Usage, in any CDK app (Python), with this repository on the import path::

        from cutover.cdk import ReleaseOrchestrator, ReleaseOrchestratorProps

        orchestrator = ReleaseOrchestrator(stack, "Releases", props=ReleaseOrchestratorProps(
            cluster_names=("prod",),
            listener_arns=("arn:aws:elasticloadbalancing:eu-west-1:111122223333:listener/app/web/abc/def",),
            task_role_arns=("arn:aws:iam::111122223333:role/web-task", "arn:aws:iam::111122223333:role/web-exec"),
            target_group_name_prefix="prod-",
            notification_emails=("releases@example.com",),
        ))
        orchestrator.state_machine  # start releases on it (give its ARN to the CLI: CUTOVER_STATE_MACHINE_ARN)
        orchestrator.table          # release locks and records
        orchestrator.topic          # approval requests and outcomes

    The state machine runs `statemachine/release.asl.json` (shipped in the package) as written. The functions may change only
    what the props name (clusters, listener rules, roles, name prefixes); empty props mean any such
    resource of the account and region.
    """

    def __init__(self, scope: Construct, construct_id: str, *, props: ReleaseOrchestratorProps | None = None) -> None:
        super().__init__(scope, construct_id)
        props = props or ReleaseOrchestratorProps()
        # A plain string, not the state machine's ARN attribute: the lock function's policy names the
        # machine's executions, and the machine refers to that function, so an attribute would be a cycle.
        # Unique per construct (path and hash), so two orchestrators in one stack or account never collide.
        self.state_machine_name = props.state_machine_name or Names.unique_resource_name(
            self, max_length=75, separator="-")

        self.table = ReleaseTable(self, "ReleaseTable", removal_policy=props.removal_policy).table
        self.notifications = Notifications(self, "Notifications", emails=props.notification_emails)
        self.topic = self.notifications.topic
        resources = ResourceScope(props, table_arn=self.table.table_arn, topic_arn=self.topic.topic_arn,
                                  state_machine_name=self.state_machine_name)
        self.functions = ReleaseFunctions(
            self, "Steps", steps=STEPS, resources=resources, notifications=self.notifications,
            table_name=self.table.table_name, log_retention=props.log_retention,
            removal_policy=props.removal_policy, trace_aws_calls=props.trace_aws_calls,
            check_network=CheckNetwork(props.check_subnet_ids, props.check_security_group_ids),
            infrastructure_role_arns=props.infrastructure_role_arns,
        ).functions
        self.state_machine = ReleaseStateMachine(
            self, "Release",
            definition_path=props.definition_path,
            state_machine_name=self.state_machine_name,
            functions=self.functions,
            substitution_names={step.key: step.substitution for step in STEPS},
            notifications=self.notifications,
            log_retention=props.log_retention,
            removal_policy=props.removal_policy,
        ).state_machine
        self.alarms = Monitoring(self, "Monitoring", state_machine=self.state_machine, topic=self.topic).alarms
        access = AccessPolicies(self, "Access", state_machine_arn=self.state_machine.state_machine_arn,
                                state_machine_name=self.state_machine_name,
                                config_bucket_names=props.config_bucket_names, table_arn=self.table.table_arn,
                                config_key_arns=props.config_key_arns).policies
        # Attach to the role CI assumes, to the approvers' roles and to those who only read (`cutover
        # iam-policy` prints the same).
        self.ci_policy, self.approver_policy, self.reader_policy = access["ci"], access["approver"], access["reader"]
        self.undo = StoppedReleaseUnlock(
            self, "StoppedReleaseUnlock", state_machine=self.state_machine, state_machine_name=self.state_machine_name,
            undo_function=self.functions[STOPPED_RELEASE_HANDLER], definition_path=props.undo_definition_path,
            function_timeouts={key: (fn, may_change_after_a_stop(key)) for key, fn in self.functions.items()
                               if key not in (STOPPED_RELEASE_HANDLER, LEDGER_WRITER)},
            notifications=self.notifications, sweep_minutes=props.sweep_minutes,
            log_retention=props.log_retention, removal_policy=props.removal_policy)
        self.alarms.update(self.undo.alarms)
        ReleaseLedger(self, "Ledger", state_machine=self.state_machine, writer=self.functions[LEDGER_WRITER],
                      retention_days=props.ledger_retention_days)
