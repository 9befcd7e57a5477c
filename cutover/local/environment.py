"""The demo environment: a VPC, an ALB with a preparing and a public rule, a cluster, and a live
version 1 behind the public rule with autoscaling, as if an earlier Cutover release had made it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from cutover import shipped
from cutover_steps.config.models import DeployConfig
from cutover_steps.plan.models import build_plan, task_definition_request
from cutover_steps.plan.service_spec import metric_specification

DEMO_TEMPLATE = shipped("examples", "demo", "deploy.yaml")
ENV = "demo"
EXECUTION_ROLE = "demo-web-execution"


@dataclass
class Alb:
    arn: str
    listener_arn: str
    preparing_rule_arn: str
    public_rule_arn: str


@dataclass
class DemoEnvironment:
    values: dict[str, str]
    albs: list[Alb] = field(default_factory=list)

    @property
    def cluster(self) -> str:
        return self.values["CLUSTER"]


def create_alb(clients, name: str, vpc: str, subnets: list[str], security_group: str, host: str, priority: int = 10) -> Alb:
    elb = clients("elbv2")
    lb = elb.create_load_balancer(Name=name, Subnets=subnets, SecurityGroups=[security_group], Scheme="internet-facing", Type="application")["LoadBalancers"][0]
    listener = elb.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain", "MessageBody": "no route"}}],
    )["Listeners"][0]
    # Until a version exists the rules answer 503; the bootstrap points them at version 1.
    placeholder = [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503", "ContentType": "text/plain"}}]
    rules = {}
    for kind, offset, rule_host in (("preparing", 0, f"preparing.{host}"), ("public", 1, host)):
        rules[kind] = elb.create_rule(
            ListenerArn=listener["ListenerArn"], Priority=priority + offset,
            Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": [rule_host]}}], Actions=placeholder,
        )["Rules"][0]["RuleArn"]
    return Alb(lb["LoadBalancerArn"], listener["ListenerArn"], rules["preparing"], rules["public"])


def create(clients) -> DemoEnvironment:
    ec2 = clients("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{zone}")["Subnet"]["SubnetId"]
        for i, zone in ((1, "a"), (2, "b"))
    ]
    security_group = ec2.create_security_group(GroupName="demo-web", Description="demo web tasks", VpcId=vpc)["GroupId"]
    alb = create_alb(clients, "demo", vpc, subnets, security_group, "demo.local")
    cluster = clients("ecs").create_cluster(clusterName="demo")["cluster"]["clusterArn"]
    role = clients("iam").create_role(
        RoleName=EXECUTION_ROLE,
        AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}',
    )["Role"]["Arn"]
    values = {
        "CLUSTER": cluster, "VPC": vpc, "SUBNET_A": subnets[0], "SUBNET_B": subnets[1],
        "SECURITY_GROUP": security_group, "PREPARING_RULE_ARN": alb.preparing_rule_arn,
        "PUBLIC_RULE_ARN": alb.public_rule_arn, "EXECUTION_ROLE_ARN": role,
    }
    return DemoEnvironment(values=values, albs=[alb])


def config_text(values: dict[str, str], template: str = DEMO_TEMPLATE) -> str:
    with open(template, encoding="utf-8") as f:
        text = f.read()
    return re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], text)


def demo_config(values: dict[str, str]) -> dict[str, Any]:
    return yaml.safe_load(config_text(values))


def bootstrap_live_version(clients, config: dict[str, Any], version: str = "1", image: str = "public.ecr.aws/demo/web:1") -> str:
    """Create version `version` as a finished release would leave it: serving, tagged, autoscaled."""
    parsed = DeployConfig.model_validate(config)
    plan = build_plan(action="release", env=ENV, version=version, image=image, environment={}, config=parsed, release_id="bootstrap")
    elb, ecs, aas = clients("elbv2"), clients("ecs"), clients("application-autoscaling")
    groups = {}
    for route in plan.routes:
        tags = plan.tags(route=route.route.name, **{"ecs-service": plan.ecs_service})
        groups[route.route.name] = elb.create_target_group(
            Name=route.target_group_name, Protocol="HTTP", Port=route.route.port, VpcId=route.route.vpc_id, TargetType="ip",
            HealthCheckPath=route.route.health_check.path, Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )["TargetGroups"][0]["TargetGroupArn"]
        for rule in (route.route.preparing_rule_arn, route.route.public_rule_arn):
            elb.modify_rule(RuleArn=rule, Actions=[{"Type": "forward", "TargetGroupArn": groups[route.route.name]}])
    task_definition = ecs.register_task_definition(**task_definition_request(plan, image))["taskDefinition"]["taskDefinitionArn"]
    settings = parsed.service_settings
    ecs.create_service(
        cluster=plan.cluster, serviceName=plan.ecs_service, taskDefinition=task_definition, desiredCount=settings.desired_count,
        launchType=settings.launch_type or "FARGATE",
        loadBalancers=[{"targetGroupArn": groups[r.route.name], "containerName": r.route.container, "containerPort": r.route.port} for r in plan.routes],
        networkConfiguration={"awsvpcConfiguration": {"subnets": list(settings.network.subnets), "securityGroups": list(settings.network.security_groups)}},
        tags=[{"key": k, "value": v} for k, v in plan.tags().items()],
    )
    if settings.autoscaling:
        resource = f"service/{plan.cluster}/{plan.ecs_service}"
        aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=resource, ScalableDimension="ecs:service:DesiredCount",
                                     MinCapacity=settings.autoscaling.min, MaxCapacity=settings.autoscaling.max)
        for policy in settings.autoscaling.policies:
            aas.put_scaling_policy(
                PolicyName=policy.name, ServiceNamespace="ecs", ResourceId=resource, ScalableDimension="ecs:service:DesiredCount",
                PolicyType="TargetTrackingScaling",
                TargetTrackingScalingPolicyConfiguration={"TargetValue": policy.target,
                                                          "PredefinedMetricSpecification": metric_specification(plan, policy, groups)},
            )
    return plan.ecs_service
