"""Amazon SNS: the release's notifications, each with an `event` attribute subscribers filter on."""
from __future__ import annotations

from cutover_steps.adapters.clients import client

SUBJECT_LIMIT = 100  # SNS refuses a longer Subject


def publish(topic_arn: str, subject: str, message: str, event: str) -> str:
    """Publish one notification; its MessageId."""
    return client("sns").publish(
        TopicArn=topic_arn, Subject=subject[:SUBJECT_LIMIT], Message=message,
        MessageAttributes={"event": {"DataType": "String", "StringValue": event}},
    )["MessageId"]
