"""Amazon S3: a deploy config uploaded by CI."""
from __future__ import annotations

from botocore.exceptions import ClientError

from cutover_steps.config import permission_settings
from cutover_steps.adapters.clients import client
from cutover_steps.errors import InvalidReleaseInput


def read(uri: str) -> bytes:
    """The object at an s3:// URI; a missing or unreadable one is the start input's error."""
    bucket, _, key = uri[len("s3://"):].partition("/")
    try:
        return client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if permission_settings.access_denied(error):
            # S3 also answers AccessDenied for a missing key to a caller without s3:ListBucket, and says no more.
            raise permission_settings.denied(
                error, "s3:GetObject", resource=f"{uri} (or no such object: S3 answers a missing key so too)") from error
        raise InvalidReleaseInput(f"config_uri: cannot read {uri} ({error.response['Error']['Code']})") from error
