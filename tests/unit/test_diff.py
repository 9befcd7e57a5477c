"""The plan's field-by-field differences: what AWS fills in on its own is not a change."""
from __future__ import annotations

from cutover.operations import diff

REQUEST = {
    "family": "web", "cpu": "256", "memory": "512", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
    "containerDefinitions": [{"name": "web", "image": "web:2", "essential": True,
                              "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
                              "environment": [{"name": "LOG_LEVEL", "value": "info"}]}],
}
# The same definition as DescribeTaskDefinition returns it for the live version: image 1, and the
# values ECS adds (cpu 0, empty lists, revision, status…)
DESCRIBED = {
    "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7", "revision": 7, "status": "ACTIVE",
    "family": "web", "cpu": "256", "memory": "512", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
    "containerDefinitions": [{"name": "web", "image": "web:1", "cpu": 0, "essential": True, "mountPoints": [],
                              "volumesFrom": [], "command": [], "secrets": [],
                              "portMappings": [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}],
                              "environment": [{"name": "LOG_LEVEL", "value": "info"}]}],
}


def test_only_what_the_release_changes_is_a_difference():
    changes = diff.changes(diff.task_definition_fields(DESCRIBED), diff.task_definition_fields(REQUEST))
    assert changes == [{"field": "containers[web].image", "before": "web:1", "after": "web:2"}]


def test_a_new_variable_and_a_new_size_are_differences():
    request = {**REQUEST, "memory": "1024", "containerDefinitions": [
        {**REQUEST["containerDefinitions"][0], "image": "web:1",
         "environment": [{"name": "LOG_LEVEL", "value": "debug"}, {"name": "NEW", "value": "1"}]}]}
    changes = {c["field"]: (c["before"], c["after"]) for c in diff.changes(diff.task_definition_fields(DESCRIBED),
                                                                           diff.task_definition_fields(request))}
    assert changes == {"memory": ("512", "1024"),
                       "containers[web].environment": ({"LOG_LEVEL": "info"}, {"LOG_LEVEL": "debug", "NEW": "1"})}


def test_service_settings_compare_as_the_config_sets_them():
    described = {"desiredCount": 2, "launchType": "FARGATE", "platformVersion": "LATEST",
                 "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["b", "a"], "securityGroups": ["sg"],
                                                                  "assignPublicIp": "DISABLED"}}}
    request = {"desiredCount": 3, "launchType": "FARGATE",
               "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["a", "b"], "securityGroups": ["sg"]}}}
    changes = diff.changes(diff.service_fields(described, {"min": 2, "max": 6}), diff.service_fields(request, {"min": 2, "max": 8}))
    assert changes == [{"field": "autoscaling", "before": "2..6", "after": "2..8"},
                       {"field": "desired_count", "before": 2, "after": 3}]
