"""AWS's errors as the command line's: what a refusal, missing credentials or an unreachable endpoint
end a command with. The one place the command line reads botocore's exceptions."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from cutover.exits import AwsError


def code_of(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def translate(error: BaseException) -> BaseException:
    """The command line's error for an error of AWS or its SDK; any other error as it is."""
    if isinstance(error, NoCredentialsError):
        return AwsError("no AWS credentials; set a profile (--profile, AWS_PROFILE) or the usual variables",
                        detail=str(error))
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        return AwsError(f"AWS said {info.get('Code')}: {info.get('Message')}", code=info.get("Code"),
                        detail=f"{info.get('Code')}: {info.get('Message')}")
    if isinstance(error, EndpointConnectionError) and any(host in str(error) for host in ("127.0.0.1", "localhost")):
        return AwsError(f"{error}: is the sandbox running? Start it with `cutover sandbox up` (and `source` its env "
                        "file in this shell), or unset AWS_ENDPOINT_URL to use AWS", detail=str(error))
    if isinstance(error, BotoCoreError):
        return AwsError(str(error), detail=str(error))
    return error


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """AWS's errors raised inside, as AwsError (the command's own and the release adapters' calls alike)."""
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise translate(error) from error
