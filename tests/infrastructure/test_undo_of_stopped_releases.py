"""The undo of releases that end outside their flow, as synthesized: its own state machine from
statemachine/undo.asl.json, started by the status-change rule and by the sweep's schedule, and
the alarms when it fails."""
from __future__ import annotations

import json

import aws_cdk as cdk
import pytest

from cutover.cdk.settings import ReleaseOrchestratorProps
from tests.infrastructure.conftest import REPO_ROOT

UNDO_HANDLER = "cutover_steps.steps.undo_stopped_release.handler"


def _undo_machine(synthesized):
    ((name, machine),) = synthesized.state_machines(undo=True).items()
    return name, machine["Properties"]


def test_the_undo_definition_file_is_deployed_as_written_running_the_undo_function(synthesized):
    written = (REPO_ROOT / "statemachine" / "undo.asl.json").read_text()
    _, machine = _undo_machine(synthesized)
    function, _ = synthesized.function_with_handler(UNDO_HANDLER)
    assert machine["DefinitionString"] == written
    assert machine["StateMachineName"] == "Cutover-Release-Undo"
    assert machine["DefinitionSubstitutions"] == {"UndoStoppedReleaseFunctionArn": {"Fn::GetAtt": [function, "Arn"]}}


def test_a_status_change_the_function_fails_on_is_retried_twice_then_kept_in_a_queue(synthesized):
    function, _ = synthesized.function_with_handler(UNDO_HANDLER)
    (config,) = synthesized.of_type("AWS::Lambda::EventInvokeConfig").values()
    (queue,) = synthesized.of_type("AWS::SQS::Queue")
    assert config["Properties"]["FunctionName"] == {"Ref": function}
    assert config["Properties"]["MaximumRetryAttempts"] == 2
    assert config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": [queue, "Arn"]}


@pytest.mark.parametrize("context, rate", [({}, "rate(5 minutes)"), ({"cutover:sweepMinutes": "2"}, "rate(2 minutes)")])
def test_the_sweep_runs_on_the_schedule_the_settings_give(tmp_path, context, rate):
    from cutover.cdk import CutoverStack

    app = cdk.App(outdir=str(tmp_path), context={"aws:cdk:bundling-stacks": [], **context})
    template = cdk.assertions.Template.from_stack(CutoverStack(app, "Cutover")).to_json()
    (schedule,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Scheduler::Schedule"]
    assert schedule["Properties"]["ScheduleExpression"] == rate
    assert json.loads(schedule["Properties"]["Target"]["Input"]) == {"sweep": True}
    undo = [name for name, r in template["Resources"].items()
            if r["Type"] == "AWS::Lambda::Function" and r["Properties"]["Handler"] == UNDO_HANDLER]
    assert schedule["Properties"]["Target"]["Arn"] == {"Fn::GetAtt": [undo[0], "Arn"]}


def test_a_sweep_setting_that_is_not_minutes_is_refused():
    with pytest.raises(ValueError, match="cutover:sweepMinutes must be a whole number of minutes"):
        ReleaseOrchestratorProps.from_context(cdk.App(context={"cutover:sweepMinutes": "often"}).node)


def test_an_undo_that_fails_for_good_raises_an_alarm_to_the_topic(synthesized):
    name, _ = _undo_machine(synthesized)
    (topic,) = synthesized.of_type("AWS::SNS::Topic")
    alarms = [a["Properties"] for a in synthesized.of_type("AWS::CloudWatch::Alarm").values()
              if {"Name": "StateMachineArn", "Value": {"Ref": name}} in a["Properties"].get("Dimensions", [])]
    assert [a["MetricName"] for a in alarms] == ["ExecutionsFailed"]
    assert alarms[0]["AlarmActions"] == [{"Ref": topic}] and alarms[0]["Threshold"] == 1
