"""Named domain errors. Their class names are what the state machine's Retry and Catch match."""


class ReleaseError(Exception):
    """Base class: a release cannot go on, and the message says why and what to do."""


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


class NotHealthyYet(ReleaseError):
    """Retryable: the new version has fewer healthy targets than required."""


class HealthTimeout(ReleaseError):
    """The new version did not reach the required healthy count in time."""


class AlarmFired(ReleaseError):
    """A watched CloudWatch alarm is in ALARM."""


class NothingToRollBack(ReleaseError):
    """There is no retired version to bring back."""
