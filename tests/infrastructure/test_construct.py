"""The construct as a team uses it in its own stack: importable from the package, names its own."""
from __future__ import annotations

import aws_cdk as cdk
from aws_cdk.assertions import Template

from cutover.cdk import ReleaseOrchestrator


def test_two_orchestrators_in_one_stack_get_their_own_names_and_resources(tmp_path):
    # Given one stack with two orchestrators (two teams)
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Platform")
    shop = ReleaseOrchestrator(stack, "Shop")
    billing = ReleaseOrchestrator(stack, "Billing")

    # When it is synthesized
    template = Template.from_stack(stack).to_json()

    # Then each has its own state machine name, table and topic, exposed on the construct
    machines = [r["Properties"]["StateMachineName"] for r in template["Resources"].values()
                if r["Type"] == "AWS::StepFunctions::StateMachine"]
    # (each with the state machine of its undo, named after it)
    assert len(machines) == len(set(machines)) == 4
    assert all(len(name) <= 80 for name in machines)
    releases = {shop.state_machine_name, billing.state_machine_name}
    assert releases | {f"{name}-Undo" for name in releases} == set(machines)
    assert shop.topic.node.path != billing.topic.node.path
