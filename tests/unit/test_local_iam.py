"""The local engine's IAM: a call a function's role does not allow is refused as AWS refuses it."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from cutover.local import iam
from cutover.local.iam.evaluation import Request, decide
from cutover.local.iam.requests import Account, requests_for

HERE = Account("aws", "us-east-1", "123456789012")
SERVICE = "arn:aws:ecs:us-east-1:123456789012:service/demo/web-2"


def refused(step: str, service: str, action: str, params: dict) -> dict:
    with pytest.raises(ClientError) as error:
        iam.authorize(step, service, action, params)
    return error.value.response


def test_a_call_the_role_does_not_grant_is_refused_with_the_services_own_error():
    # ECS (JSON protocol) answers AccessDeniedException; ELB (query protocol) AccessDenied
    ecs = refused("RecordRelease", "ecs", "ecs:DeleteService", {"cluster": "demo", "service": "web-2"})
    elb = refused("CheckHealth", "elbv2", "elasticloadbalancing:DeleteTargetGroup",
                  {"TargetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/demo-web-2/abc"})

    assert ecs["Error"]["Code"] == "AccessDeniedException"
    assert elb["Error"]["Code"] == "AccessDenied"
    # The message names the role, the action and the resource, as AWS's does
    assert "assumed-role/" in ecs["Error"]["Message"] and "cutover-RecordRelease" in ecs["Error"]["Message"]
    assert f"ecs:DeleteService on resource: {SERVICE}" in ecs["Error"]["Message"]


def test_a_granted_action_outside_the_granted_resources_is_refused():
    # CleanUp may describe the demo cluster's web-* services, not another team's
    iam.authorize("CleanUp", "ecs", "ecs:DescribeServices", {"cluster": "demo", "services": ["web-1"]})
    response = refused("CleanUp", "ecs", "ecs:DescribeServices", {"cluster": "demo", "services": ["web-1", "billing-7"]})
    assert "service/demo/billing-7" in response["Error"]["Message"]
    # and target groups outside the demo- prefix cannot be created
    refused("CreateTargetGroups", "elbv2", "elasticloadbalancing:CreateTargetGroup", {"Name": "prod-web-2"})


def test_tags_on_create_need_the_tagging_permission_too():
    requests = requests_for("elasticloadbalancing:CreateTargetGroup",
                            {"Name": "demo-web-2", "Tags": [{"Key": "k", "Value": "v"}]}, HERE)
    assert [r.action for r in requests] == ["elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:AddTags"]
    # A step allowed to create target groups but not to tag them cannot create them with tags
    response = refused("CleanUp", "elbv2", "elasticloadbalancing:CreateTargetGroup",
                       {"Name": "demo-web-2", "Tags": [{"Key": "k", "Value": "v"}]})
    assert response["Error"]["Code"] == "AccessDenied"


def test_a_task_definition_passes_its_roles_to_ecs_tasks_only():
    params = {"family": "web", "containerDefinitions": [],
              "executionRoleArn": "arn:aws:iam::123456789012:role/demo-web-execution"}
    iam.authorize("RegisterTaskDefinition", "ecs", "ecs:RegisterTaskDefinition", params)

    # Any other role is refused, and so is passing the allowed role to another service
    other = refused("RegisterTaskDefinition", "ecs", "ecs:RegisterTaskDefinition",
                    {**params, "taskRoleArn": "arn:aws:iam::123456789012:role/admin"})
    assert "iam:PassRole on resource: arn:aws:iam::123456789012:role/admin" in other["Error"]["Message"]
    statements = iam.policies.load()["functions"]["RegisterTaskDefinition"]["statements"]
    to_lambda = Request("iam:PassRole", params["executionRoleArn"], {"iam:PassedToService": "lambda.amazonaws.com"})
    assert decide(statements, to_lambda) == "ImplicitDeny"


def test_autoscaling_checks_the_callers_own_ecs_and_alarm_permissions():
    params = {"ServiceNamespace": "ecs", "ResourceId": "service/demo/web-2",
              "ScalableDimension": "ecs:service:DesiredCount", "MinCapacity": 2, "MaxCapacity": 6}
    actions = [r.action for r in requests_for("application-autoscaling:RegisterScalableTarget", params, HERE)]
    assert actions[1:] == ["ecs:DescribeServices", "ecs:UpdateService", "cloudwatch:DescribeAlarms",
                           "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "iam:CreateServiceLinkedRole"]
    iam.authorize("CreateService", "application-autoscaling", "application-autoscaling:RegisterScalableTarget", params)

    # A service outside the granted prefix fails Application Auto Scaling's validation
    response = refused("CreateService", "application-autoscaling", "application-autoscaling:RegisterScalableTarget",
                       {**params, "ResourceId": "service/demo/billing-7"})
    assert response["Error"]["Code"] == "ValidationException"
    assert "missing permission ecs:DescribeServices" in response["Error"]["Message"]


def test_the_service_linked_role_may_be_created_only_for_ecs_autoscaling():
    statements = iam.policies.load()["functions"]["CreateService"]["statements"]
    role = ("arn:aws:iam::123456789012:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/"
            "AWSServiceRoleForApplicationAutoScaling_ECSService")
    for_ecs = Request("iam:CreateServiceLinkedRole", role, {"iam:AWSServiceName": "ecs.application-autoscaling.amazonaws.com"})
    for_rds = Request("iam:CreateServiceLinkedRole", role, {"iam:AWSServiceName": "rds.application-autoscaling.amazonaws.com"})
    assert decide(statements, for_ecs) == "Allow"
    assert decide(statements, for_rds) == "ImplicitDeny"


def test_composite_alarms_are_described_only_with_a_grant_on_star():
    params = {"AlarmNames": ["web-5xx"], "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]}
    (request,) = requests_for("cloudwatch:DescribeAlarms", params, HERE)
    assert request.resource == "*"
    scoped = [{"Effect": "Allow", "Action": "cloudwatch:DescribeAlarms",
               "Resource": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:*"}]
    assert decide(scoped, request) == "ImplicitDeny"
    (metric_only,) = requests_for("cloudwatch:DescribeAlarms", {"AlarmNames": ["web-5xx"]}, HERE)
    assert decide(scoped, metric_only) == "Allow"


def test_an_explicit_deny_wins_and_conditions_need_their_key():
    allow = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*/*",
             "Condition": {"StringEquals": {"s3:ResourceAccount": "123456789012"}}}
    deny = {"Effect": "Deny", "Action": "s3:Get*", "Resource": "arn:aws:s3:::secrets/*"}
    (config,) = requests_for("s3:GetObject", {"Bucket": "configs", "Key": "web.yaml"}, HERE)
    (secret,) = requests_for("s3:GetObject", {"Bucket": "secrets", "Key": "key"}, HERE)
    assert decide([allow, deny], config) == "Allow"
    assert decide([allow, deny], secret) == "ExplicitDeny"
    assert decide([allow], Request("s3:GetObject", config.resource)) == "ImplicitDeny"


def test_an_action_that_can_be_scoped_but_has_no_known_resource_parameters_is_not_let_through():
    with pytest.raises(LookupError, match="RESOURCES"):
        requests_for("ecs:DeleteCluster", {"cluster": "demo"}, HERE)


def test_every_role_a_service_hands_to_ecs_is_passed_to_ecs():
    # Given a CreateService request with a service role (by name), a managed EBS volume's and a VPC Lattice role
    params = {"cluster": "demo", "serviceName": "web-2", "role": "ecs-lb",
              "volumeConfigurations": [{"name": "data", "managedEBSVolume": {
                  "roleArn": "arn:aws:iam::123456789012:role/ecs-infrastructure", "sizeInGiB": 10}}],
              "vpcLatticeConfigurations": [{"roleArn": "arn:aws:iam::123456789012:role/ecs-lattice",
                                            "targetGroupArn": "arn:aws:vpc-lattice:us-east-1:123456789012:targetgroup/tg-1",
                                            "portName": "http"}]}
    # When AWS authorizes it, each role is passed, to ECS itself
    passed = [(r.resource, r.context["iam:PassedToService"]) for r in requests_for("ecs:CreateService", params, HERE)
              if r.action == "iam:PassRole"]
    assert passed == [("arn:aws:iam::123456789012:role/ecs-lb", "ecs.amazonaws.com"),
                      ("arn:aws:iam::123456789012:role/ecs-infrastructure", "ecs.amazonaws.com"),
                      ("arn:aws:iam::123456789012:role/ecs-lattice", "ecs.amazonaws.com")]
    # UpdateService hands them over the same way
    update = {"cluster": "demo", "service": "web-2", "vpcLatticeConfigurations": params["vpcLatticeConfigurations"]}
    assert [r.resource for r in requests_for("ecs:UpdateService", update, HERE) if r.action == "iam:PassRole"] == [
        "arn:aws:iam::123456789012:role/ecs-lattice"]

    # And the stack's CreateService role, which lists no infrastructure roles, is refused the first
    response = refused("CreateService", "ecs", "ecs:CreateService", params)
    assert "iam:PassRole on resource: arn:aws:iam::123456789012:role/ecs-lb" in response["Error"]["Message"]
