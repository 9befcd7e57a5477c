"""The AWS rules moto skips are enforced by the local engine: each refusal as AWS words it.

One test per line of the table in docs/fidelity.md. Every call goes through a plain boto3 client,
as any caller's would: the rules live in the emulated AWS, not in the release's code.
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest
from botocore.exceptions import ClientError

from cutover.operations import executions as operations
from cutover.local import lambdas

CLUSTER = "demo"


def refused(call, *args, **kwargs) -> dict[str, str]:
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    return caught.value.response["Error"]


def live_service(demo) -> dict:
    return demo.client("ecs").describe_services(cluster=CLUSTER, services=["web-1"])["services"][0]


def make_service(demo, name: str, desired: int = 0, token: str | None = None) -> dict:
    live = live_service(demo)
    request = {"cluster": CLUSTER, "serviceName": name, "taskDefinition": live["taskDefinition"], "desiredCount": desired,
               "launchType": "FARGATE", "networkConfiguration": live["networkConfiguration"]}
    if token:
        request["clientToken"] = token
    return demo.client("ecs").create_service(**request)["service"]


def wait_for_status(demo, name: str, status: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if demo.client("ecs").describe_services(cluster=CLUSTER, services=[name])["services"][0]["status"] == status:
            return
        time.sleep(0.1)
    raise AssertionError(f"{name} never became {status}")


def v1_group(demo) -> str:
    return demo.client("elbv2").describe_target_groups(Names=["demo-web-1"])["TargetGroups"][0]["TargetGroupArn"]


def new_group(demo, name: str, **health) -> str:
    return demo.client("elbv2").create_target_group(
        Name=name, Protocol="HTTP", Port=8080, VpcId=demo.env.values["VPC"], TargetType="ip", **health,
    )["TargetGroups"][0]["TargetGroupArn"]


# -- ECS ---------------------------------------------------------------------------------------------
def test_a_deleted_service_drains_and_its_name_is_reusable_only_once_inactive(demo):
    ecs = demo.client("ecs")
    make_service(demo, "web-gone")
    ecs.delete_service(cluster=CLUSTER, service="web-gone")

    assert ecs.describe_services(cluster=CLUSTER, services=["web-gone"])["services"][0]["status"] == "DRAINING"
    error = refused(make_service, demo, "web-gone")
    assert error["Code"] == "InvalidParameterException"
    assert error["Message"] == "Unable to Start a service that is still Draining."
    assert refused(ecs.update_service, cluster=CLUSTER, service="web-gone", desiredCount=1)["Code"] == "ServiceNotActiveException"
    assert not any(arn.endswith("/web-gone") for arn in ecs.list_services(cluster=CLUSTER)["serviceArns"])

    wait_for_status(demo, "web-gone", "INACTIVE")
    assert make_service(demo, "web-gone")["status"] == "ACTIVE"


def test_creating_a_service_twice_is_idempotent_only_with_the_same_client_token(demo):
    first = make_service(demo, "web-twice", token="token-a")

    assert make_service(demo, "web-twice", token="token-a")["serviceArn"] == first["serviceArn"]
    error = refused(make_service, demo, "web-twice", token="token-b")
    assert (error["Code"], error["Message"]) == ("InvalidParameterException", "Creation of service was not idempotent.")


def test_the_same_client_token_with_other_parameters_is_refused_and_a_retry_gets_the_older_service(demo):
    first = make_service(demo, "web-token", token="token-a")

    error = refused(make_service, demo, "web-token", desired=1, token="token-a")
    assert (error["Code"], error["Message"]) == ("InvalidParameterException", "Creation of service was not idempotent.")
    # A retry is answered with the service the first request made, created before the retry was sent
    sent = datetime.now(timezone.utc)
    again = make_service(demo, "web-token", token="token-a")
    assert again["serviceArn"] == first["serviceArn"] and again["createdAt"] == first["createdAt"] < sent


def test_a_client_token_stays_bound_to_its_request_once_the_service_is_deleted(demo):
    make_service(demo, "web-reused", token="token-r")
    demo.client("ecs").delete_service(cluster=CLUSTER, service="web-reused", force=True)
    wait_for_status(demo, "web-reused", "INACTIVE")

    error = refused(make_service, demo, "web-reused", desired=1, token="token-r")
    assert (error["Code"], error["Message"]) == ("InvalidParameterException", "Creation of service was not idempotent.")
    assert make_service(demo, "web-reused", desired=1, token="token-s")["status"] == "ACTIVE"


def test_describe_services_takes_at_most_ten(demo):
    error = refused(demo.client("ecs").describe_services, cluster=CLUSTER, services=[f"web-{i}" for i in range(11)])

    assert error["Code"] == "InvalidParameterException"
    assert "at most 10" in error["Message"]


def test_list_services_pages_hold_ten_by_default_and_at_most_one_hundred(demo):
    ecs = demo.client("ecs")
    for i in range(11):
        make_service(demo, f"web-page-{i}")

    first = ecs.list_services(cluster=CLUSTER)
    assert len(first["serviceArns"]) == 10 and first["nextToken"]
    every = [arn for page in ecs.get_paginator("list_services").paginate(cluster=CLUSTER) for arn in page["serviceArns"]]
    assert len(every) == len(set(every)) == 12  # web-1 and the eleven above
    assert refused(ecs.list_services, cluster=CLUSTER, maxResults=101)["Code"] == "InvalidParameterException"


def test_ecs_tags_refuse_characters_aws_refuses(demo):
    ecs = demo.client("ecs")
    arn = live_service(demo)["serviceArn"]

    error = refused(ecs.tag_resource, resourceArn=arn, tags=[{"key": "cutover:release", "value": "ci#42"}])
    assert error["Code"] == "InvalidParameterException"
    assert "must satisfy regular expression pattern" in error["Message"]
    assert refused(ecs.tag_resource, resourceArn=arn, tags=[{"key": "aws:owner", "value": "me"}])["Code"] == "InvalidParameterException"
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "cutover:release", "value": "Ünïcode 1.2_3:4/5=6+7-8@9"}])


# -- ELBv2 -------------------------------------------------------------------------------------------
def test_describe_tags_takes_at_most_twenty_arns(demo):
    arns = [v1_group(demo)] * 21

    error = refused(demo.client("elbv2").describe_tags, ResourceArns=arns)
    assert error["Code"] == "ValidationError"
    assert "less than or equal to 20" in error["Message"]


def test_a_target_group_a_rule_forwards_to_cannot_be_deleted(demo):
    error = refused(demo.client("elbv2").delete_target_group, TargetGroupArn=v1_group(demo))

    assert error["Code"] == "ResourceInUse"


def test_a_target_group_belongs_to_one_load_balancer(demo):
    from cutover.local.environment import create_alb

    other = create_alb(demo.client, "other", demo.env.values["VPC"], [demo.env.values["SUBNET_A"], demo.env.values["SUBNET_B"]],
                       demo.env.values["SECURITY_GROUP"], "other.local")
    forward = [{"Type": "forward", "TargetGroupArn": v1_group(demo)}]

    error = refused(demo.client("elbv2").modify_rule, RuleArn=other.public_rule_arn, Actions=forward)
    assert error["Code"] == "TargetGroupAssociationLimit"
    assert v1_group(demo) in error["Message"]
    # Rules of the load balancer it already serves may forward to it.
    demo.client("elbv2").modify_rule(RuleArn=demo.preparing_rule, Actions=forward)


def test_forward_weights_are_0_to_999_and_at_most_five_groups(demo):
    elbv2 = demo.client("elbv2")
    groups = [v1_group(demo)] + [new_group(demo, f"weights-{i}") for i in range(5)]

    def forward(weights):
        return [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
            {"TargetGroupArn": arn, "Weight": w} for arn, w in zip(groups, weights)]}}]

    error = refused(elbv2.modify_rule, RuleArn=demo.preparing_rule, Actions=forward([1000, 0]))
    assert error["Code"] == "ValidationError" and "less than or equal to 999" in error["Message"]
    error = refused(elbv2.modify_rule, RuleArn=demo.preparing_rule, Actions=forward([1] * 6))
    assert error["Code"] == "ValidationError" and "less than or equal to 5" in error["Message"]
    elbv2.modify_rule(RuleArn=demo.preparing_rule, Actions=forward([999, 0]))


def test_health_check_timeout_must_be_below_the_interval(demo):
    error = refused(new_group, demo, "hc-equal", HealthCheckIntervalSeconds=10, HealthCheckTimeoutSeconds=10)
    assert error["Code"] == "ValidationError"
    assert error["Message"] == "Health check timeout '10' must be smaller than the interval '10'"
    # AWS's default interval (30 s) counts too when only the timeout is given.
    assert refused(new_group, demo, "hc-default", HealthCheckTimeoutSeconds=30)["Code"] == "ValidationError"
    new_group(demo, "hc-fine", HealthCheckIntervalSeconds=10, HealthCheckTimeoutSeconds=9)


def test_elb_tags_refuse_characters_aws_refuses(demo):
    elbv2 = demo.client("elbv2")

    error = refused(elbv2.add_tags, ResourceArns=[v1_group(demo)], Tags=[{"Key": "cutover:release", "Value": "deploy(1)"}])
    assert error["Code"] == "ValidationError"
    assert "must satisfy regular expression pattern" in error["Message"]
    error = refused(new_group, demo, "tagged", Tags=[{"Key": "cutover:release", "Value": "a!b"}])
    assert error["Code"] == "ValidationError"
    assert demo.target_group_names() == {"demo-web-1"}


# -- Application Auto Scaling ------------------------------------------------------------------------
def test_request_count_scaling_needs_the_resource_label_of_an_attached_target_group(demo):
    aas = demo.client("application-autoscaling")
    policy = {"PolicyName": "requests", "ServiceNamespace": "ecs", "ResourceId": "service/demo/web-1",
              "ScalableDimension": "ecs:service:DesiredCount", "PolicyType": "TargetTrackingScaling"}

    def spec(**metric):
        return {"TargetValue": 100.0, "PredefinedMetricSpecification": {"PredefinedMetricType": "ALBRequestCountPerTarget", **metric}}

    error = refused(aas.put_scaling_policy, **policy, TargetTrackingScalingPolicyConfiguration=spec())
    assert error["Code"] == "ValidationException"
    assert "ResourceLabel" in error["Message"]
    balancer = demo.env.albs[0].arn.split(":loadbalancer/")[1]
    stray = new_group(demo, "not-attached").split(":")[-1]
    error = refused(aas.put_scaling_policy, **policy, TargetTrackingScalingPolicyConfiguration=spec(ResourceLabel=f"{balancer}/{stray}"))
    assert error["Code"] == "ValidationException"
    label = f"{balancer}/{v1_group(demo).split(':')[-1]}"
    aas.put_scaling_policy(**policy, TargetTrackingScalingPolicyConfiguration=spec(ResourceLabel=label))


def test_scaling_policies_come_ten_to_a_page_for_exactly_the_resource_asked(demo):
    aas = demo.client("application-autoscaling")
    scaling = {"ServiceNamespace": "ecs", "ScalableDimension": "ecs:service:DesiredCount"}
    make_service(demo, "web-10")
    aas.register_scalable_target(**scaling, ResourceId="service/demo/web-10", MinCapacity=0, MaxCapacity=2)
    for i in range(12):
        aas.put_scaling_policy(**scaling, ResourceId="service/demo/web-1", PolicyName=f"cpu-{i}", PolicyType="TargetTrackingScaling",
                               TargetTrackingScalingPolicyConfiguration={"TargetValue": 50.0 + i, "PredefinedMetricSpecification": {
                                   "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})

    first = aas.describe_scaling_policies(**scaling, ResourceId="service/demo/web-1")
    assert len(first["ScalingPolicies"]) == 10 and first["NextToken"]
    every = [p["PolicyName"] for page in aas.get_paginator("describe_scaling_policies").paginate(**scaling, ResourceId="service/demo/web-1")
             for p in page["ScalingPolicies"]]
    assert len(every) == len(set(every)) >= 12
    # web-1's policies are not web-10's, though one resource id begins with the other.
    assert aas.describe_scaling_policies(**scaling, ResourceId="service/demo/web-10")["ScalingPolicies"] == []
    assert refused(aas.describe_scaling_policies, **scaling, ResourceId="service/demo/web-1", MaxResults=11)["Code"] == "ValidationException"


# -- CloudWatch --------------------------------------------------------------------------------------
def test_alarms_come_fifty_to_a_page_by_default_and_at_most_one_hundred(demo):
    cloudwatch = demo.client("cloudwatch")
    names = [f"paging-{i:03d}" for i in range(60)]
    for name in names:
        cloudwatch.put_metric_alarm(AlarmName=name, Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_5XX_Count",
                                    Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=5,
                                    ComparisonOperator="GreaterThanOrEqualToThreshold")

    first = cloudwatch.describe_alarms(AlarmNames=names)
    assert len(first["MetricAlarms"]) == 50 and first["NextToken"]
    assert len(cloudwatch.describe_alarms(AlarmNames=names, MaxRecords=100)["MetricAlarms"]) == 60
    assert refused(cloudwatch.describe_alarms, AlarmNames=names, MaxRecords=101)["Code"] == "ValidationError"
    assert refused(cloudwatch.describe_alarms, AlarmNames=[f"a{i}" for i in range(101)])["Code"] == "ValidationError"


# -- Step Functions ----------------------------------------------------------------------------------
def test_a_state_result_over_256_kib_fails_the_execution_even_under_a_catch_all(engine, monkeypatch):
    monkeypatch.setattr(lambdas, "run_step", lambda key, event, arn="": {"data": "x" * (256 * 1024)})
    definition = {
        "StartAt": "Big result",
        "States": {
            "Big result": {"Type": "Task", "Resource": lambdas_arn(), "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                           "End": True},
            "Caught": {"Type": "Succeed"},
        },
    }
    sfn = engine.client("stepfunctions")
    machine = sfn.create_state_machine(name="data-limit", definition=json.dumps(definition),
                                       roleArn="arn:aws:iam::123456789012:role/cutover-state-machine")["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, name="big", input="{}")["executionArn"]

    description = operations.wait(sfn, arn, 60)
    assert description["status"] == "FAILED"
    assert description["error"] == "States.DataLimitExceeded"
    assert "Caught" not in [e["stateEnteredEventDetails"]["name"] for e in operations.history(sfn, arn) if e["type"] == "SucceedStateEntered"]


def test_an_execution_history_comes_one_hundred_events_to_a_page_by_default(engine):
    passes = {f"Pass {i}": {"Type": "Pass", "Next": f"Pass {i + 1}"} for i in range(60)}
    definition = {"StartAt": "Pass 0", "States": {**passes, "Pass 60": {"Type": "Succeed"}}}
    sfn = engine.client("stepfunctions")
    machine = sfn.create_state_machine(name="long-history", definition=json.dumps(definition),
                                       roleArn="arn:aws:iam::123456789012:role/cutover-state-machine")["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, name="long", input="{}")["executionArn"]
    assert operations.wait(sfn, arn, 60)["status"] == "SUCCEEDED"

    first = sfn.get_execution_history(executionArn=arn)
    assert len(first["events"]) == 100 and first["nextToken"]
    every = operations.history(sfn, arn)
    assert len(every) > 120 and [e["id"] for e in every] == sorted({e["id"] for e in every})
    latest = sfn.get_execution_history(executionArn=arn, reverseOrder=True, maxResults=1000)
    assert "nextToken" not in latest and latest["events"][0]["type"] == "ExecutionSucceeded"


def test_a_stop_keeps_its_error_and_cause_and_refuses_longer_ones_than_aws_takes(engine):
    definition = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 60, "End": True}}}
    sfn = engine.client("stepfunctions")
    machine = sfn.create_state_machine(name="stoppable", definition=json.dumps(definition),
                                       roleArn="arn:aws:iam::123456789012:role/cutover-state-machine")["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, name="waits", input="{}")["executionArn"]
    # An error over 256 characters or a cause over 32,768 is refused, and the execution runs on
    too_long = refused(sfn.stop_execution, executionArn=arn, error="E" * 257)
    assert too_long["Code"] == "ValidationException" and "'error'" in too_long["Message"] and "256" in too_long["Message"]
    too_long = refused(sfn.stop_execution, executionArn=arn, cause="c" * 32769)
    assert too_long["Code"] == "ValidationException" and "'cause'" in too_long["Message"] and "32768" in too_long["Message"]
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    # At the limits, the stop is taken and its error and cause are in the history and the description
    sfn.stop_execution(executionArn=arn, error="E" * 256, cause="c" * 32768)
    description = operations.wait(sfn, arn, 30)
    assert (description["status"], description["error"], description["cause"]) == ("ABORTED", "E" * 256, "c" * 32768)
    (aborted,) = [e for e in operations.history(sfn, arn) if e["type"] == "ExecutionAborted"]
    assert aborted["executionAbortedEventDetails"] == {"error": "E" * 256, "cause": "c" * 32768}


def lambdas_arn() -> str:
    from cutover.local.engine import function_arn

    return function_arn("CheckHealth")


def test_the_tagging_api_lags_behind_tagging_as_long_as_the_engine_says(demo, monkeypatch):
    from cutover.local import aws_rules

    monkeypatch.setattr(aws_rules, "tagging_lag_seconds", 1.5)
    tagging, elbv2 = demo.client("resourcegroupstaggingapi"), demo.client("elbv2")

    def listed() -> dict[str, dict[str, str]]:
        found = tagging.get_resources(ResourceTypeFilters=["elasticloadbalancing:targetgroup"])["ResourceTagMappingList"]
        return {r["ResourceARN"].split("/")[1]: {t["Key"]: t["Value"] for t in r["Tags"]} for r in found}

    # Given a target group created (with its tags) a moment ago, and one re-tagged a moment ago
    group = new_group(demo, "demo-web-lag")
    elbv2.add_tags(ResourceArns=[group], Tags=[{"Key": "marked", "Value": "yes"}])
    first = listed()
    elbv2.add_tags(ResourceArns=[v1_group(demo)], Tags=[{"Key": "late", "Value": "1"}])
    # Then the tag query does not list the new one yet, nor the new tag of the other
    assert "demo-web-lag" not in first
    assert "late" not in listed().get("demo-web-1", {})
    # And it does once the lag has passed, as AWS's eventually consistent index would
    time.sleep(1.6)
    later = listed()
    assert later["demo-web-lag"]["marked"] == "yes" and later["demo-web-1"]["late"] == "1"


def test_deregistering_a_scalable_target_deletes_its_policies_and_scheduled_actions(demo):
    # Given web-1's scalable target with its target-tracking policy and a scheduled action
    aas = demo.client("application-autoscaling")
    target = {"ServiceNamespace": "ecs", "ResourceId": "service/demo/web-1", "ScalableDimension": "ecs:service:DesiredCount"}
    aas.put_scheduled_action(ScheduledActionName="nightly", Schedule="cron(0 1 * * ? *)", **target,
                             ScalableTargetAction={"MinCapacity": 1, "MaxCapacity": 2})
    assert aas.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=target["ResourceId"])["ScalingPolicies"]

    # When it is deregistered
    aas.deregister_scalable_target(**target)

    # Then, as on AWS, its policies and scheduled actions are gone with it (moto kept them)
    assert aas.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=target["ResourceId"])["ScalingPolicies"] == []
    assert aas.describe_scheduled_actions(ServiceNamespace="ecs", ResourceId=target["ResourceId"])["ScheduledActions"] == []


def test_a_dynamodb_item_over_400_kb_is_refused(demo):
    dynamodb = demo.client("dynamodb")
    table = "cutover-releases"
    key = {"pk": {"S": "version#demo#web#huge"}}

    error = refused(dynamodb.put_item, TableName=table, Item={**key, "config": {"S": "x" * 420_000}})
    assert error["Code"] == "ValidationException" and "maximum allowed size" in error["Message"]
    dynamodb.put_item(TableName=table, Item={**key, "config": {"S": "x" * 300_000}})
    error = refused(dynamodb.update_item, TableName=table, Key=key, UpdateExpression="SET more = :v",
                    ExpressionAttributeValues={":v": {"S": "x" * 120_000}})
    assert error["Code"] == "ValidationException" and "maximum allowed size" in error["Message"]


def test_a_stop_while_a_task_prepares_its_call_schedules_nothing_and_leaves_the_history_readable(engine, monkeypatch):
    # The stop lands between the Task's parameters and its schedule, the moment moto got wrong: it
    # wrote the state's data as the schedule's timeout, and no read of the history succeeded after.
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda

    calls: list[str] = []
    monkeypatch.setattr(lambdas, "run_step", lambda key, event, arn="": calls.append(key) or {})
    sfn = engine.client("stepfunctions")
    definition = {"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": lambdas_arn(), "TimeoutSeconds": 60,
                                                          "End": True}}}
    machine = sfn.create_state_machine(name="stopped-on-the-way", definition=json.dumps(definition),
                                       roleArn="arn:aws:iam::123456789012:role/cutover-state-machine")["stateMachineArn"]
    original = StateTaskLambda._eval_parameters

    def parameters_then_a_stop(self, env):
        parameters = original(self, env)
        (running,) = sfn.list_executions(stateMachineArn=machine)["executions"]
        sfn.stop_execution(executionArn=running["executionArn"], error="Stopped", cause="stopped by an operator")
        return parameters

    monkeypatch.setattr(StateTaskLambda, "_eval_parameters", parameters_then_a_stop)
    arn = sfn.start_execution(stateMachineArn=machine, name="stopped", input='{"plan": {"service": "web"}}')["executionArn"]

    assert operations.wait(sfn, arn, 30)["status"] == "ABORTED"
    time.sleep(0.5)  # whatever the interpreter still does after the stop has had its time
    kinds = [e["type"] for e in operations.history(sfn, arn)]
    assert kinds[-1] == "ExecutionAborted" and "LambdaFunctionScheduled" not in kinds, kinds
    assert calls == [] and sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"
