"""How a command ends, in one table: each exit code, the name `--output json` gives it as an error
(`{"error": {"code", "message", "exit_code"}}`) and what it means; and the command line's errors. One
hierarchy: every error of Cutover is a `cutover_steps.errors.CutoverError` carrying its exit code (the
release's named errors and the command line's alike), so no command catches an error to re-raise
another; AWS's own errors become AwsError in `cutover.aws.errors`. docs/commands.md lists the table
(a test keeps it true).
"""
from __future__ import annotations

from dataclasses import dataclass

from cutover_steps import errors


@dataclass(frozen=True)
class Exit:
    code: int
    name: str | None  # as an error in --output json; None when it ends no error
    meaning: str


OK = Exit(0, None, "done; for start --wait and rollback --wait: the release succeeded; for status: it succeeded or is still running")
FAILED = Exit(errors.FAILED, "internal_error",
              "the release failed, was rejected, timed out or was aborted; or Cutover itself failed (internal_error)")
USAGE = Exit(errors.USAGE, "invalid_input", "bad usage or input: unknown option, invalid deploy config (the message names the field)")
NOT_FOUND = Exit(errors.NOT_POSSIBLE, "not_found",
                 "not found or not possible now: no such execution or state machine, not waiting for approval, nothing to roll back to")
AWS_ERROR = Exit(errors.AWS_ERROR, "aws_error", "AWS refused or could not be reached: credentials, permissions, endpoint")
STILL_RUNNING = Exit(5, None, "--timeout ran out while the release was still running")
INTERRUPTED = Exit(130, "interrupted", "interrupted (Ctrl-C); the release itself goes on")
TABLE = (OK, FAILED, USAGE, NOT_FOUND, AWS_ERROR, STILL_RUNNING, INTERRUPTED)


def exit_of(error: errors.CutoverError) -> Exit:
    """The row of the table an error's exit code is."""
    return next(e for e in TABLE if e.code == error.exit_code)


class CommandError(errors.CutoverError):
    """A command cannot do what it was asked; the message says why, `exit_code` how the command ends."""
    exit_code = FAILED.code

    @property
    def exit(self) -> Exit:
        return exit_of(self)


class UsageError(CommandError):
    """Bad input from the user."""
    exit_code = USAGE.code


class NotFound(CommandError):
    """What the command names does not exist, or cannot be acted on now."""
    exit_code = NOT_FOUND.code


class AwsError(CommandError):
    """AWS refused the call or could not be reached (cutover.aws.errors makes it from AWS's own error):
    `code` is AWS's error code, `detail` its code and words."""
    exit_code = AWS_ERROR.code

    def __init__(self, message: str, *, code: str | None = None, detail: str = ""):
        super().__init__(message)
        self.code, self.detail = code, detail or message


class Interrupted(CommandError):
    exit_code = INTERRUPTED.code


class Unexpected(CommandError):
    """A bug in Cutover: said in one line; CUTOVER_DEBUG=1 shows the stack trace."""


def of(error: BaseException) -> errors.CutoverError:
    """The error an exception ends a command with: a named error of Cutover as it is (a step's own check,
    made by the command, says its exit code too), anything else as an interruption or a bug. AWS's own
    errors are made AwsError before, by cutover.aws.errors.translate."""
    if isinstance(error, errors.CutoverError):
        return error
    if isinstance(error, KeyboardInterrupt):
        return Interrupted("interrupted; the release itself goes on (cutover status shows it)")
    return Unexpected(f"unexpected {type(error).__name__}: {error} (CUTOVER_DEBUG=1 shows where)")
