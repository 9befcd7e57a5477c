"""Named domain errors: the one list. Their class names are what the state machine's Retry and Catch
match; each says whether the state machine runs the step again (`cutover_steps.runtime.retries` derives every
Lambda Task's Retry blocks from this file) and which exit code the command line gives it when it
meets the error itself (a release that fails in its execution exits FAILED, whatever the error)."""

# The command line's exit codes a domain error can map to; the command line's exit table is built on these.
FAILED, USAGE, NOT_POSSIBLE, AWS_ERROR = 1, 2, 3, 4


class CutoverError(Exception):
    """Every named error of Cutover, the steps' and the command line's (`cutover.exits`): it carries the exit
    code the command line ends with when it meets the error itself."""

    exit_code = FAILED


class ReleaseError(CutoverError):
    """Base class: a release cannot go on, and the message says why and what to do."""

    # Retrying would not change the answer to a domain error, only delay the compensation.
    retried = False


class InvalidReleaseInput(ReleaseError):
    """The start input or the deploy config is wrong; nothing in AWS was touched."""

    exit_code = USAGE


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
    """There is no retired version to bring back (or not the one asked for)."""

    exit_code = NOT_POSSIBLE


class PermissionDenied(ReleaseError):
    """AWS refused a call to the step's role: the stack's settings do not cover what the release touches. The
    message names the action, the resource and the setting that would allow it (cutover_steps.config.permission_settings)."""

    exit_code = AWS_ERROR


class AwsThrottled(ReleaseError):
    """An AWS API kept throttling after the SDK's own retries; the state machine retries the step."""

    retried = True
    exit_code = AWS_ERROR

    def __init__(self, message: str, code: str = "Throttling"):
        super().__init__(message)
        self.code = code


def domain_errors() -> list[type[ReleaseError]]:
    """Every named error, in the order of this file; a subclass made elsewhere (a test's) is not one."""
    return [error for error in ReleaseError.__subclasses__() if error.__module__ == __name__]
