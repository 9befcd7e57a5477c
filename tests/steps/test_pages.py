"""Steps read every page AWS answers in: what lies beyond the first page is not lost."""
from __future__ import annotations

import pytest

from cutover.local.lambdas import run_step
from cutover_steps.adapters import clients as aws
from cutover_steps.errors import InvalidReleaseInput
from tests.steps.test_steps_twice import EXECUTION, SWITCH, Stepper, prepared, record_item

SCALING = {"ServiceNamespace": "ecs", "ResourceId": "service/demo/web-1", "ScalableDimension": "ecs:service:DesiredCount"}


def test_a_retired_version_with_more_than_ten_scaling_policies_is_remembered_with_all_of_them(demo):
    # Given v1 scaled by twelve policies: AWS answers ten per page
    aas = demo.client("application-autoscaling")
    for i in range(11):
        aas.put_scaling_policy(**SCALING, PolicyName=f"cpu-{i}", PolicyType="TargetTrackingScaling",
                               TargetTrackingScalingPolicyConfiguration={"TargetValue": 40.0 + i, "PredefinedMetricSpecification": {
                                   "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})

    # When v2 is released and v1 retired
    release = prepared(Stepper(demo, "2"))
    for key, name in SWITCH:
        release.run(key, name)
    release.run("RecordRelease", "record")

    # Then what a rollback restores holds every one of v1's policies
    policies = record_item(demo, "version#demo#web#1")["autoscaling"]["policies"]
    assert sorted(p["name"] for p in policies) == sorted(["cpu", *(f"cpu-{i}" for i in range(11))])


def test_a_hundred_watched_alarms_are_checked_in_one_call_and_a_missing_one_is_named(demo):
    # Given a config watching 100 alarms, the last of which does not exist: AWS answers 50 a page by default
    cloudwatch = demo.client("cloudwatch")
    names = [f"demo-web-{i:03d}" for i in range(100)]
    for name in names[:-1]:
        cloudwatch.put_metric_alarm(AlarmName=name, Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_5XX_Count",
                                    Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=5,
                                    ComparisonOperator="GreaterThanOrEqualToThreshold")
    calls = []
    aws.client("cloudwatch").meta.events.register("before-call.cloudwatch.DescribeAlarms", lambda **_: calls.append(1),
                                                  unique_id="test-pages")
    config = {**demo.config, "release": {**demo.config["release"], "alarm_names": names}}

    # When a release of it is loaded
    try:
        with pytest.raises(InvalidReleaseInput) as refused:
            run_step("LoadRelease", {"input": {"env": "demo", "version": "2", "image": "web:2", "config": config},
                                     "release": {"execution_id": EXECUTION, "name": "pages"}})
    finally:
        aws.client("cloudwatch").meta.events.unregister("before-call.cloudwatch.DescribeAlarms", unique_id="test-pages")

    # Then the missing alarm is named, found with one DescribeAlarms call
    assert names[-1] in str(refused.value)
    assert len(calls) == 1
