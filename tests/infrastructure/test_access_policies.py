"""The stack's CI, approver and reader policies are the ones `cutover iam-policy` prints."""
from __future__ import annotations

import json

from tests.cli.helpers import cutover


def _actions(document: dict) -> list[tuple[str, tuple[str, ...]]]:
    return sorted((s["Sid"], tuple(sorted([s["Action"]] if isinstance(s["Action"], str) else s["Action"])))
                  for s in document["Statement"])


def test_the_stack_deploys_the_printed_policies_and_outputs_them(synthesized):
    policies = synthesized.of_type("AWS::IAM::ManagedPolicy")
    outputs = synthesized.template["Outputs"]
    for role, output in (("ci", "CiPolicyArn"), ("approver", "ApproverPolicyArn"), ("reader", "ReaderPolicyArn")):
        deployed = synthesized.resources[outputs[output]["Value"]["Ref"]]
        assert deployed in policies.values()
        printed = json.loads(cutover("iam-policy", role).out)
        # The stack as synthesized names no config bucket: CI then sends configs inline, uploading nothing
        printed["Statement"] = [s for s in printed["Statement"] if s["Sid"] != "UploadDeployConfigs"]
        assert _actions(deployed["Properties"]["PolicyDocument"]) == _actions(printed)


def test_the_deployed_policies_name_this_state_machine(synthesized):
    outputs = synthesized.template["Outputs"]
    ci = synthesized.resources[outputs["CiPolicyArn"]["Value"]["Ref"]]["Properties"]["PolicyDocument"]
    (start,) = [s for s in ci["Statement"] if s["Sid"] == "StartReleases"]
    (machine,) = synthesized.state_machines()
    assert start["Resource"] == {"Ref": machine}
