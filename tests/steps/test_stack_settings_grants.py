"""What AWS checks beyond a step's own call, for resources only the stack's settings can name: a deploy config in
a bucket encrypted with a customer managed key (kms:Decrypt), and roles a service hands to ECS (iam:PassRole).
Without the setting the local engine refuses as AWS does, and the step names the setting; with it, the stack's
own synthesized grant lets the step through."""
from __future__ import annotations

import pytest
import yaml

from cutover.local.iam import policies
from cutover.local.lambdas import run_step
from cutover_steps.errors import PermissionDenied

RELEASE = {"execution_id": "arn:aws:states:us-east-1:123456789012:execution:cutover-release:kms", "name": "kms"}


@pytest.fixture
def encrypted_config(demo):
    """The demo config uploaded by CI to a bucket whose default encryption is a customer managed KMS key."""
    key = demo.client("kms").create_key(Description="deploy configs")["KeyMetadata"]["Arn"]
    s3 = demo.client("s3")
    s3.create_bucket(Bucket="ci-secure")
    s3.put_bucket_encryption(Bucket="ci-secure", ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]})
    s3.put_object(Bucket="ci-secure", Key="web/deploy.yaml", Body=yaml.safe_dump(demo.config).encode())
    assert s3.head_object(Bucket="ci-secure", Key="web/deploy.yaml")["ServerSideEncryption"] == "aws:kms"
    return key


def _load(version: str = "7"):
    return run_step("LoadRelease", {"input": {"env": "demo", "version": version, "image": f"web:{version}",
                                              "config_uri": "s3://ci-secure/web/deploy.yaml"}, "release": RELEASE})


def test_a_config_encrypted_with_an_unlisted_key_is_refused_naming_the_setting(demo, encrypted_config):
    # Given the stack without config_key_arns
    # When LoadRelease reads the config
    with pytest.raises(PermissionDenied) as refused:
        _load()

    # Then S3 refuses it for want of kms:Decrypt on the key, told as the stack setting that allows it
    message = str(refused.value)
    assert f"kms:Decrypt on {encrypted_config}" in message
    assert "config_key_arns (cutover:configKeyArns)" in message


def test_the_stacks_grant_for_a_listed_key_and_role_lets_the_steps_through(demo, encrypted_config):
    # Given the stack synthesized with the key and an infrastructure role listed in its settings
    role = "arn:aws:iam::123456789012:role/ecs-infrastructure"
    installed = policies.install({**policies.local_settings(), "config_key_arns": (encrypted_config,),
                                  "infrastructure_role_arns": (role,)})
    try:
        # When LoadRelease reads the encrypted config
        plan = _load()

        # Then it decrypts it through S3
        assert plan["ecs_service"] == "web-7"

        # And CreateService may hand ECS that role, and only that one, and only to ECS
        from cutover.local.iam.evaluation import Request, decide

        statements = installed["functions"]["CreateService"]["statements"]
        assert decide(statements, Request("iam:PassRole", role, {"iam:PassedToService": "ecs.amazonaws.com"})) == "Allow"
        assert decide(statements, Request("iam:PassRole", role, {"iam:PassedToService": "ec2.amazonaws.com"})) != "Allow"
        other = "arn:aws:iam::123456789012:role/admin"
        assert decide(statements, Request("iam:PassRole", other, {"iam:PassedToService": "ecs.amazonaws.com"})) != "Allow"
        # And no other step may decrypt configs
        assert [key for key, f in installed["functions"].items()
                if any("kms:Decrypt" in str(s["Action"]) and encrypted_config in str(s["Resource"])
                       for s in f["statements"])] == ["LoadRelease"]
    finally:
        policies.uninstall()


LATTICE_ROLE = "arn:aws:iam::123456789012:role/ecs-lattice"


def _with_lattice_role(config: dict) -> dict:
    settings = {**config["service_settings"], "vpc_lattice_configurations": [
        {"role_arn": LATTICE_ROLE, "port_name": "http",
         "target_group_arn": "arn:aws:vpc-lattice:us-east-1:123456789012:targetgroup/tg-0123456789abcdef0"}]}
    return {**config, "service_settings": settings}


def _load_inline(config: dict):
    return run_step("LoadRelease", {"input": {"env": "demo", "version": "8", "image": "web:8", "config": config},
                                    "release": RELEASE})


def test_a_role_the_stack_may_not_hand_to_ecs_is_refused_before_anything_starts(demo):
    # Given a config handing ECS a VPC Lattice role, and the stack without infrastructure_role_arns
    # When LoadRelease checks it
    with pytest.raises(PermissionDenied) as refused:
        _load_inline(_with_lattice_role(demo.config))

    # Then it is refused there, naming the field, the role and the setting that would allow it
    message = str(refused.value)
    assert message.startswith(f"service_settings.vpc_lattice_configurations.0.role_arn: {LATTICE_ROLE}")
    assert "infrastructure_role_arns (cutover:infrastructureRoleArns)" in message


def test_a_role_the_stack_lists_is_let_through(demo):
    # Given the stack synthesized with that role listed
    policies.install({**policies.local_settings(), "infrastructure_role_arns": (LATTICE_ROLE,)})
    demo.engine.tell_steps_the_roles_for_ecs()
    try:
        # When LoadRelease checks the config, it plans the release
        assert _load_inline(_with_lattice_role(demo.config))["ecs_service"] == "web-8"
    finally:
        policies.uninstall()
        demo.engine.tell_steps_the_roles_for_ecs()
