"""The load balancer's metrics in the local engine: simulated requests through the public rule, split by its
weights, and GetMetricData answering them as CloudWatch does (percentiles of raw values, the start rounded
down to the minute, AWS's periods), while PutMetricData refuses the AWS/ namespaces as AWS does."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from cutover.local.traffic import Behaviour, parse_behaviour

NAMESPACE = "AWS/ApplicationELB"


def group_dimensions(demo, name: str) -> list[dict[str, str]]:
    arn = demo.client("elbv2").describe_target_groups(Names=[name])["TargetGroups"][0]["TargetGroupArn"]
    balancer = "/".join(demo.public_rule.split(":listener-rule/", 1)[1].split("/")[:3])
    return [{"Name": "LoadBalancer", "Value": balancer}, {"Name": "TargetGroup", "Value": "targetgroup/" + arn.split(":targetgroup/", 1)[1]}]


def metric(demo, name: str, metric_name: str, stat: str, start: datetime, period: int = 3600) -> float | None:
    answer = demo.client("cloudwatch").get_metric_data(
        MetricDataQueries=[{"Id": "q", "MetricStat": {"Metric": {"Namespace": NAMESPACE, "MetricName": metric_name,
                                                                 "Dimensions": group_dimensions(demo, name)},
                                                      "Period": period, "Stat": stat}}],
        StartTime=start, EndTime=datetime.now(timezone.utc) + timedelta(seconds=1))
    values = answer["MetricDataResults"][0]["Values"]
    return sum(values) if values else None


def test_requests_through_the_public_rule_are_counted_per_target_group_with_their_errors_and_p99(demo):
    # Given the public rule split 50/50 between versions 1 and 2, version 2 erring on a fifth and slow
    start = datetime.now(timezone.utc)
    elbv2 = demo.client("elbv2")
    live = elbv2.describe_target_groups(Names=["demo-web-1"])["TargetGroups"][0]
    second = elbv2.create_target_group(Name="demo-web-2", Protocol="HTTP", Port=8080, VpcId=live["VpcId"], TargetType="ip",
                                       Tags=[{"Key": "cutover:version", "Value": "2"}])["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=second, Targets=[{"Id": "10.0.9.9", "Port": 8080}])
    groups = {"demo-web-1": live["TargetGroupArn"], "demo-web-2": second}
    elbv2.modify_rule(RuleArn=demo.public_rule, Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": groups["demo-web-1"], "Weight": 1}, {"TargetGroupArn": groups["demo-web-2"], "Weight": 1}]}}])
    traffic = demo.engine.send_traffic([demo.public_rule], rps=200, tick_seconds=0.5,
                                       behaviours={"2": Behaviour(error_rate=0.2, p99_ms=2000)})

    # When a few seconds of requests have gone through
    time.sleep(3)
    traffic.stop()

    # Then each group's requests are half the total, version 2's errors a fifth of its requests, and the
    # p99 of each group's response times is what its version answers with (version 1: the default 100 ms)
    requests = {n: metric(demo, n, "RequestCount", "Sum", start) for n in groups}
    assert requests["demo-web-1"] == pytest.approx(requests["demo-web-2"], abs=2) and requests["demo-web-1"] >= 200
    assert metric(demo, "demo-web-2", "HTTPCode_Target_5XX_Count", "Sum", start) == pytest.approx(0.2 * requests["demo-web-2"], abs=1)
    assert metric(demo, "demo-web-1", "HTTPCode_Target_5XX_Count", "Sum", start) is None  # the ALB publishes no zero 5XX count
    assert metric(demo, "demo-web-2", "TargetResponseTime", "p99", start) == pytest.approx(2.0, rel=0.1)
    assert metric(demo, "demo-web-1", "TargetResponseTime", "p99", start) == pytest.approx(0.1, rel=0.1)
    assert metric(demo, "demo-web-1", "TargetResponseTime", "p50", start) < 0.05
    assert traffic.served["2"]["errors"] == metric(demo, "demo-web-2", "HTTPCode_Target_5XX_Count", "Sum", start)


def test_get_metric_data_rounds_the_start_down_to_the_whole_minute(engine):
    # Given a value published now, and a query starting one second after it (within the same minute)
    cloudwatch = engine.client("cloudwatch")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    if now.second == 59:
        time.sleep(1.1)
        now = datetime.now(timezone.utc).replace(microsecond=0)
    cloudwatch.put_metric_data(Namespace="Shop", MetricData=[{"MetricName": "Orders", "Value": 3, "Timestamp": now}])
    answer = cloudwatch.get_metric_data(
        MetricDataQueries=[{"Id": "q", "MetricStat": {"Metric": {"Namespace": "Shop", "MetricName": "Orders"},
                                                      "Period": 60, "Stat": "Sum"}}],
        StartTime=now + timedelta(seconds=1), EndTime=now + timedelta(seconds=120))
    # Then CloudWatch counts it: the start is rounded down to the minute
    assert answer["MetricDataResults"][0]["Values"] == [3.0]


@pytest.mark.parametrize("namespace", ["AWS/ApplicationELB", "AWS/ECS"])
def test_put_metric_data_refuses_the_namespaces_aws_reserves(engine, namespace):
    with pytest.raises(ClientError) as caught:
        engine.client("cloudwatch").put_metric_data(Namespace=namespace, MetricData=[{"MetricName": "RequestCount", "Value": 1}])
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "reserved for AWS use" in caught.value.response["Error"]["Message"]


def test_a_period_aws_refuses_is_refused(engine):
    now = datetime.now(timezone.utc)
    with pytest.raises(ClientError) as caught:
        engine.client("cloudwatch").get_metric_data(
            MetricDataQueries=[{"Id": "q", "MetricStat": {"Metric": {"Namespace": "Shop", "MetricName": "Orders"},
                                                          "Period": 45, "Stat": "Sum"}}],
            StartTime=now - timedelta(minutes=5), EndTime=now)
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"


@pytest.mark.parametrize("text, expected", [
    ("3:error_rate=0.3", ("3", Behaviour(error_rate=0.3))),
    ("4:p99_ms=3000", ("4", Behaviour(p99_ms=3000))),
    ("2.1:error_rate=0.01,p99_ms=250", ("2.1", Behaviour(error_rate=0.01, p99_ms=250))),
])
def test_a_version_behaviour_is_read_from_its_flag(text, expected):
    assert parse_behaviour(text) == expected


@pytest.mark.parametrize("text, problem", [
    ("3", "expected VERSION:error_rate=R,p99_ms=N"),
    ("3:errors=0.3", "unknown setting 'errors'"),
    ("3:error_rate=lots", "error_rate must be a number"),
    ("3:error_rate=2", "error_rate is a share of requests, 0 to 1"),
])
def test_a_wrong_version_behaviour_says_what_is_wrong(text, problem):
    with pytest.raises(ValueError, match=problem):
        parse_behaviour(text)
