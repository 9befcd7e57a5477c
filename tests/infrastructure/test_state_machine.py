"""The deployed state machine is the definition file as written, observable, and alarmed."""
from __future__ import annotations

import json
import re

from cutover_steps import registry
from cutover_steps.registry import STEPS

from cutover.cdk.state_machine import substitutions_in


def _state_machine(synthesized):
    (machine,) = synthesized.state_machines().values()
    return machine["Properties"]


def test_the_definition_file_is_deployed_as_written(synthesized, definition_path):
    # Given the definition in statemachine/ (the one the local engine and the tests run)
    written = definition_path.read_text()

    # When the stack is synthesized
    deployed = _state_machine(synthesized)

    # Then the state machine's definition is that file, byte for byte, substitutions still in place
    assert deployed["DefinitionString"] == written
    assert json.loads(deployed["DefinitionString"]) == json.loads(written)


def test_every_substitution_in_the_definition_is_filled_with_the_right_resource(synthesized, definition_path):
    # Given the `${…}` variables the definition uses
    expected = substitutions_in(definition_path.read_text())
    substitutions = _state_machine(synthesized)["DefinitionSubstitutions"]

    # Then CloudFormation is given a value for each of them, so none reaches an execution as literal text
    assert expected <= substitutions.keys()

    # And each step's variable names the ARN of the function that runs that step's handler
    for step in STEPS:
        if step.substitution in expected:
            function, _ = synthesized.function_with_handler(step.handler)
            assert substitutions[step.substitution] == {"Fn::GetAtt": [function, "Arn"]}, step.key

    # And the notification topic variable names the stack's topic
    (topic,) = synthesized.of_type("AWS::SNS::Topic")
    assert substitutions["NotificationTopicArn"] == {"Ref": topic}


def test_the_state_machine_is_a_standard_workflow_with_a_predictable_name(synthesized):
    # Standard, because approvals wait up to days and the execution history is the audit log
    properties = _state_machine(synthesized)
    assert properties.get("StateMachineType", "STANDARD") == "STANDARD"
    assert properties["StateMachineName"] == "Cutover-Release"


def test_every_execution_is_logged_in_full_to_a_log_group_that_expires(synthesized):
    # When an operator looks for what an execution did
    logging = _state_machine(synthesized)["LoggingConfiguration"]

    # Then every event, with its data, is in CloudWatch Logs
    assert logging["Level"] == "ALL"
    assert logging["IncludeExecutionData"] is True
    (destination,) = logging["Destinations"]
    log_group = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]

    # And that log group keeps them for a bounded time
    assert synthesized.resources[log_group]["Properties"]["RetentionInDays"] == 365


def test_executions_and_steps_are_traced_with_x_ray(synthesized):
    assert _state_machine(synthesized)["TracingConfiguration"] == {"Enabled": True}
    for name, function in synthesized.of_type("AWS::Lambda::Function").items():
        assert function["Properties"]["TracingConfig"] == {"Mode": "Active"}, name


def test_failed_timed_out_and_aborted_releases_notify_the_topic(synthesized):
    # Given the notification topic people subscribe to
    (topic,) = synthesized.of_type("AWS::SNS::Topic")
    (machine,) = synthesized.state_machines()

    # When a release ends badly
    alarms = {alarm["Properties"]["MetricName"]: alarm["Properties"]
              for alarm in synthesized.of_type("AWS::CloudWatch::Alarm").values()
              if {"Name": "StateMachineArn", "Value": {"Ref": machine}} in alarm["Properties"].get("Dimensions", [])}

    # Then an alarm on that outcome of this state machine fires on the first occurrence, and tells the topic
    assert {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"} <= alarms.keys()
    for metric in ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"):
        alarm = alarms[metric]
        assert alarm["Namespace"] == "AWS/States"
        assert alarm["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": machine}}]
        assert alarm["Threshold"] == 1
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["AlarmActions"] == [{"Ref": topic}]


def test_the_cli_finds_the_state_machine_topic_and_table_in_the_stack_outputs(synthesized):
    assert {"StateMachineArn", "NotificationTopicArn", "ReleaseTableName"} <= synthesized.template["Outputs"].keys()


def test_the_stack_says_which_names_its_functions_may_change_for_adopt_to_check(synthesized):
    scope = json.loads(synthesized.template["Outputs"]["NameScope"]["Value"])
    assert scope.keys() == {"service_name_prefix", "target_group_name_prefix"}


# Service integrations the state machine's role is granted for, and the action each needs.
# What the state machine role needs for each service integration, by the substitution of its ARN.
INTEGRATIONS = {
    f"${{{name}}}": {"lambda": "lambda:InvokeFunction", "sns": "sns:Publish"}[integration.split(":")[0]]
    for name, integration in registry.INTEGRATIONS.items()
}


def _tasks(states: dict) -> list[dict]:
    tasks = []
    for state in states.values():
        if state["Type"] == "Task":
            tasks.append(state)
        for branch in state.get("Branches", []):
            tasks += _tasks(branch["States"])
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                tasks += _tasks(state[key]["States"])
    return tasks


def test_every_task_in_the_definition_can_run_with_the_state_machine_role(synthesized, definition_path):
    # Given every Task of the definition
    tasks = _tasks(json.loads(definition_path.read_text())["States"])
    assert tasks
    substitution = re.compile(r"^\$\{[A-Za-z0-9_]+FunctionArn\}$")

    # Then each calls one of the stack's functions, directly or through an integration the role is granted
    for task in tasks:
        resource = task["Resource"]
        if substitution.match(resource):
            continue
        assert resource in INTEGRATIONS, f"{resource}: grant it to the state machine role in cutover/cdk/state_machine.py"
        if INTEGRATIONS[resource] == "lambda:InvokeFunction":
            assert substitution.match(task["Parameters"]["FunctionName"]), task["Parameters"]["FunctionName"]
        else:
            assert task["Parameters"]["TopicArn"] == "${NotificationTopicArn}"
