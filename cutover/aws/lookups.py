"""What the command line reads besides releases: who the caller is (STS), a deploy config kept in S3,
an SSM parameter a config refers to. Each refusal is an AwsError."""
from __future__ import annotations

from typing import Any

from cutover.aws.errors import translated


def caller_arn(sts) -> str:
    """The ARN AWS knows the caller by (GetCallerIdentity)."""
    return sts.get_caller_identity()["Arn"]


def object_body(s3, uri: str) -> bytes:
    """The bytes of an S3 object named s3://bucket/key."""
    bucket, _, key = uri[len("s3://"):].partition("/")
    with translated():
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def parameter(ssm, name: str) -> dict[str, Any]:
    """An SSM parameter (`Type`, `Value`), decrypted as GetParameter gives it without WithDecryption."""
    with translated():
        return ssm.get_parameter(Name=name)["Parameter"]
