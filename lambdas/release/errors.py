"""Named domain errors: the one list. Their class names are what the state machine's Retry and Catch
match, and each says whether the state machine runs the step again (`release.retries` derives every
Lambda Task's Retry blocks from this file)."""


class ReleaseError(Exception):
    """Base class: a release cannot go on, and the message says why and what to do."""

    # Retrying would not change the answer to a domain error, only delay the compensation.
    retried = False


class InvalidReleaseInput(ReleaseError):
    """The start input or the deploy config is wrong; nothing in AWS was touched."""


class ReleaseInProgress(ReleaseError):
    """Another execution holds the service's release lock."""


class TargetGroupConflict(ReleaseError):
    """A target group with the planned name exists but belongs to something else."""


class ServiceConflict(ReleaseError):
    """An ECS service with the planned name exists but was not made by this release's plan."""


class RuleDrifted(ReleaseError):
    """A listener rule no longer matches what the release read; it is left as it is."""


class HealthTimeout(ReleaseError):
    """The new version did not reach the required healthy count in time."""


class AlarmFired(ReleaseError):
    """A watched CloudWatch alarm is in ALARM."""


class VerificationFailed(ReleaseError):
    """A verification check (release.verify) did not pass."""


class NothingToRollBack(ReleaseError):
    """There is no retired version to bring back."""


class AwsThrottled(ReleaseError):
    """An AWS API kept throttling after the SDK's own retries; the state machine retries the step."""

    retried = True


def domain_errors() -> list[type[ReleaseError]]:
    """Every named error, in the order of this file; a subclass made elsewhere (a test's) is not one."""
    return [error for error in ReleaseError.__subclasses__() if error.__module__ == __name__]
