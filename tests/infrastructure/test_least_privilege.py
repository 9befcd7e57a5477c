"""Each step may make only its own calls, on the resources it works on; nothing grants `*` actions."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import cfnlint
import pytest
from cutover_steps.registry import STEPS, STOPPED_RELEASE_HANDLER

from cutover.cdk.permissions import EVERY_ALARM, SCOPE_OF_ACTION, ResourceScope
from cutover.cdk.settings import ReleaseOrchestratorProps

# Which actions support resource-level permissions, from the Service Authorization Reference as cfn-lint ships it.
SERVICE_AUTHORIZATION = json.loads(
    (Path(cfnlint.__file__).parent / "data" / "AdditionalSpecs" / "Policies.json").read_text())

EVERY_FUNCTION_NEEDS = {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments",
                        "xray:PutTelemetryRecords"}
ENCRYPTED_PUBLISH_NEEDS = {"kms:Decrypt", "kms:GenerateDataKey"}
ON_FAILURE_QUEUE_NEEDS = {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
PSEUDO = {"AWS::Partition": "<AWS::Partition>", "AWS::Region": "<AWS::Region>", "AWS::AccountId": "<AWS::AccountId>"}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _text(value: Any) -> str:
    """A resource as readable text: pseudo parameters as <AWS::…>, other references as <Ref:…>/<GetAtt:…>."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_text(part) for part in parts)
    if "Ref" in value:
        return PSEUDO.get(value["Ref"], f"<Ref:{value['Ref']}>")
    if "Fn::GetAtt" in value:
        return f"<GetAtt:{'.'.join(value['Fn::GetAtt'])}>"
    return json.dumps(value)


def _supports_resource_level(action: str) -> bool:
    service, name = action.split(":")
    return bool(SERVICE_AUTHORIZATION[service]["Actions"][name.lower()].get("Resources"))


def _grants(statements: list[dict[str, Any]]) -> dict[str, set[str]]:
    """action -> the resources it is allowed on."""
    granted: dict[str, set[str]] = {}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        for action in _listed(statement["Action"]):
            granted.setdefault(action, set()).update(_text(r) for r in _listed(statement["Resource"]))
    return granted


def _step_grants(synthesized, step) -> tuple[dict[str, set[str]], list[dict[str, Any]]]:
    function_name, function = synthesized.function_with_handler(step.handler)
    statements = synthesized.statements_of_role(synthesized.role_of_function(function))
    return _grants(statements), statements


@pytest.mark.parametrize("step", STEPS, ids=lambda step: step.key)
def test_a_step_may_make_exactly_its_own_calls(synthesized, step):
    # Given the calls a step's code makes, as the registry lists them
    # When its role is synthesized
    granted, _ = _step_grants(synthesized, step)

    # Then the role allows those calls, plus logging, tracing and (to publish encrypted) the topic's key;
    # invoking check functions only once the stack lists some (check_function_arns, empty by default)
    expected = (set(step.calls) - {"lambda:InvokeFunction"}) | EVERY_FUNCTION_NEEDS
    if "sns:Publish" in step.calls:
        expected |= ENCRYPTED_PUBLISH_NEEDS
    if step.key == STOPPED_RELEASE_HANDLER:
        # Lambda sends a status change it failed to handle three times to the on-failure queue, with its role
        expected |= ON_FAILURE_QUEUE_NEEDS
    assert set(granted) == expected


@pytest.mark.parametrize("step", STEPS, ids=lambda step: step.key)
def test_a_step_gets_star_resources_only_for_calls_that_cannot_be_scoped(synthesized, step):
    # Alarm calls AWS authorizes on `*` for Cutover's uses (composite alarms, autoscaling's checks) are the exception
    on_star_by_aws = {action for action, scopes in SCOPE_OF_ACTION.items() if scopes == (EVERY_ALARM,)}
    granted, _ = _step_grants(synthesized, step)
    for action, resources in granted.items():
        if "*" in resources:
            assert action in on_star_by_aws or not _supports_resource_level(action), \
                f"{action} supports resource-level permissions"
            assert resources == {"*"}


def test_no_policy_anywhere_grants_a_wildcard_action(synthesized):
    # Given every policy document in the template (roles, their policies, the key policy, the topic policy)
    documents = []
    for resource in synthesized.resources.values():
        properties = resource.get("Properties", {})
        for key in ("PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument"):
            if key in properties:
                documents.append(properties[key])
        documents += [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
    assert documents

    # Then no statement names an action with a wildcard
    actions = {a for doc in documents for s in doc["Statement"] for a in _listed(s.get("Action", []))}
    assert not [a for a in actions if "*" in a]
    assert not [s for doc in documents for s in doc["Statement"] if "NotAction" in s]


def test_release_data_is_reachable_only_in_the_release_table(synthesized):
    (table,) = synthesized.of_type("AWS::DynamoDB::Table")
    for step in STEPS:
        granted, _ = _step_grants(synthesized, step)
        for action, resources in granted.items():
            if action.startswith("dynamodb:"):
                assert resources == {f"<GetAtt:{table}.Arn>"}, (step.key, action)


def test_notifications_go_only_to_the_notification_topic(synthesized):
    (topic,) = synthesized.of_type("AWS::SNS::Topic")
    (key,) = synthesized.of_type("AWS::KMS::Key")
    granted, _ = _step_grants(synthesized, next(s for s in STEPS if "sns:Publish" in s.calls))
    assert granted["sns:Publish"] == {f"<Ref:{topic}>"}
    assert granted["kms:GenerateDataKey"] == {f"<GetAtt:{key}.Arn>"}


def test_the_lock_step_may_describe_only_executions_of_the_release_state_machine_and_its_undo(synthesized):
    granted, _ = _step_grants(synthesized, next(s for s in STEPS if "states:DescribeExecution" in s.calls))
    assert granted["states:DescribeExecution"] == {
        "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:Cutover-Release:*",
        "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:Cutover-Release-Undo:*"}


def test_only_the_undo_function_may_start_executions_and_only_of_the_undo(synthesized):
    for step in STEPS:
        granted, _ = _step_grants(synthesized, step)
        if step.key == STOPPED_RELEASE_HANDLER:
            assert granted["states:StartExecution"] == {
                "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:Cutover-Release-Undo"}
        else:
            assert "states:StartExecution" not in granted, step.key


def test_by_default_ecs_and_load_balancer_changes_stay_in_this_account_and_region(synthesized):
    # Given no context: every cluster, rule and role of the account is in reach, and no more
    here = "<AWS::Region>:<AWS::AccountId>"
    expected = {
        "ecs:CreateService": f"ecs:{here}:service/*/*",
        "ecs:DeleteService": f"ecs:{here}:service/*/*",
        "ecs:RegisterTaskDefinition": f"ecs:{here}:task-definition/*",
        "elasticloadbalancing:CreateTargetGroup": f"elasticloadbalancing:{here}:targetgroup/*",
        "elasticloadbalancing:DeleteTargetGroup": f"elasticloadbalancing:{here}:targetgroup/*",
        "elasticloadbalancing:ModifyRule": f"elasticloadbalancing:{here}:listener-rule/app/*",
        "application-autoscaling:DeregisterScalableTarget": f"application-autoscaling:{here}:scalable-target/*",
        "iam:PassRole": "iam::<AWS::AccountId>:role/*",
    }
    for step in STEPS:
        granted, _ = _step_grants(synthesized, step)
        for action, resources in expected.items():
            if action in granted:
                assert granted[action] == {f"arn:<AWS::Partition>:{resources}"}, (step.key, action)


def test_only_the_ecs_resources_a_step_works_on_can_be_tagged_by_it(synthesized):
    # CleanUp marks services obsolete; it registers no task definitions, so it may not tag them
    granted, _ = _step_grants(synthesized, next(s for s in STEPS if s.key == "CleanUp"))
    assert granted["ecs:TagResource"] == {"arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:service/*/*"}


def test_roles_can_be_passed_only_to_ecs_tasks(synthesized):
    passing = [step for step in STEPS if "iam:PassRole" in step.calls]
    assert passing
    for step in passing:
        _, statements = _step_grants(synthesized, step)
        (statement,) = [s for s in statements if "iam:PassRole" in _listed(s["Action"])]
        assert _listed(statement["Action"]) == ["iam:PassRole"]
        assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}


def test_the_state_machine_may_invoke_only_its_functions_and_publish_only_to_its_topic(synthesized):
    (machine,) = synthesized.state_machines().values()
    role = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    granted = _grants(synthesized.statements_of_role(role))
    functions = synthesized.of_type("AWS::Lambda::Function")
    (topic,) = synthesized.of_type("AWS::SNS::Topic")

    assert granted["lambda:InvokeFunction"] == {f"<GetAtt:{name}.Arn>" for name in functions}
    assert granted["sns:Publish"] == {f"<Ref:{topic}>"}
    # Everything else it holds is execution logging and tracing, which cannot be scoped
    others = set(granted) - {"lambda:InvokeFunction", "sns:Publish", "kms:Decrypt", "kms:GenerateDataKey"}
    assert {a.split(":")[0] for a in others} == {"logs", "xray"}
    assert all(granted[a] == {"*"} and not _supports_resource_level(a) for a in others)


def test_every_registry_call_has_a_deliberate_resource_scope():
    # A new call added to a step must be given a scope in cutover/cdk/permissions.py before it can deploy
    assert {action for step in STEPS for action in step.calls} <= SCOPE_OF_ACTION.keys()


def test_configured_clusters_rules_roles_and_prefixes_narrow_every_grant():
    # Given a deployment that names what releases may touch
    props = ReleaseOrchestratorProps(
        cluster_names=("prod",),
        listener_rule_arns=("arn:aws:elasticloadbalancing:eu-west-1:111122223333:listener-rule/app/web/1/2/3",),
        listener_arns=("arn:aws:elasticloadbalancing:eu-west-1:111122223333:listener/app/api/4/5",),
        task_role_arns=("arn:aws:iam::111122223333:role/web-task",),
        task_definition_families=("web",),
        target_group_name_prefix="prod-",
        service_name_prefix="web-",
        config_bucket_names=("deploy-configs",),
    )
    stack = cdk.Stack(cdk.App(), "Scoped")
    scope = ResourceScope(props, table_arn="table", topic_arn="topic", state_machine_name="Scoped-Release")

    # When the statements for every call are built
    statements = [stack.resolve(s.to_statement_json()) for s in scope.statements(SCOPE_OF_ACTION)]
    granted = _grants(statements)

    # Then each call reaches only the named resources
    here = "<AWS::Region>:<AWS::AccountId>"
    assert granted["ecs:CreateService"] == {f"arn:<AWS::Partition>:ecs:{here}:service/prod/web-*"}
    assert granted["ecs:DescribeClusters"] == {f"arn:<AWS::Partition>:ecs:{here}:cluster/prod"}
    assert granted["ecs:RegisterTaskDefinition"] == {f"arn:<AWS::Partition>:ecs:{here}:task-definition/web:*"}
    assert granted["elasticloadbalancing:CreateTargetGroup"] == {
        f"arn:<AWS::Partition>:elasticloadbalancing:{here}:targetgroup/prod-*"}
    assert granted["elasticloadbalancing:ModifyRule"] == {
        "arn:aws:elasticloadbalancing:eu-west-1:111122223333:listener-rule/app/web/1/2/3",
        "arn:aws:elasticloadbalancing:eu-west-1:111122223333:listener-rule/app/api/4/5/*"}
    assert granted["iam:PassRole"] == {"arn:aws:iam::111122223333:role/web-task"}
    assert granted["s3:GetObject"] == {"arn:<AWS::Partition>:s3:::deploy-configs/*"}
