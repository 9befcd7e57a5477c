"""The SNS topic for approval requests, release outcomes and alarms, encrypted with its own key."""
from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

# A customer managed key rather than alias/aws/sns: CloudWatch alarms can only publish to an encrypted
# topic whose key policy lets cloudwatch.amazonaws.com use the key. The account statement lists what
# administrators and IAM-granted publishers need instead of `kms:*`.
_ACCOUNT_KEY_ACTIONS = [
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:CreateGrant", "kms:Decrypt", "kms:DeleteAlias",
    "kms:DescribeKey", "kms:DisableKey", "kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation",
    "kms:Encrypt", "kms:GenerateDataKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListGrants",
    "kms:ListKeyRotations", "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:RevokeGrant",
    "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource",
    "kms:UpdateAlias", "kms:UpdateKeyDescription",
]
PUBLISH_KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"]


class Notifications(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, emails: Sequence[str]) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self, "Key",
            description="Encrypts Cutover release notifications",
            enable_key_rotation=True,
            policy=iam.PolicyDocument(statements=[
                iam.PolicyStatement(
                    sid="AccountAdministersAndDelegatesToIam",
                    principals=[iam.AccountRootPrincipal()],
                    actions=_ACCOUNT_KEY_ACTIONS,
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="CloudWatchAlarmsPublish",
                    principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                    actions=PUBLISH_KEY_ACTIONS,
                    resources=["*"],
                    conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
                ),
            ]),
        )
        self.topic = sns.Topic(
            self, "Topic",
            display_name="Cutover releases",
            master_key=self.key,
            enforce_ssl=True,
        )
        for email in emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

    def grant_publish(self, grantee: iam.IGrantable) -> None:
        """sns:Publish on this topic and the two key actions an encrypted publish needs, nothing wider."""
        iam.Grant.add_to_principal(grantee=grantee, actions=["sns:Publish"], resource_arns=[self.topic.topic_arn])
        iam.Grant.add_to_principal(grantee=grantee, actions=PUBLISH_KEY_ACTIONS, resource_arns=[self.key.key_arn])
