"""How a command ends, in one table: each exit code, the name `--output json` gives it as an error
(`{"error": {"code", "message", "exit_code"}}`) and what it means. Errors carry their exit code, so
no command decides one where it catches an error; a named error of the release (`release.errors`)
carries its own, one of this table's. docs/commands.md lists the table (a test keeps it true).
"""
from __future__ import annotations

from dataclasses import dataclass

from release import errors


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


class CommandError(Exception):
    """A command cannot do what it was asked; the message says why, `exit` how the command ends."""
    exit = FAILED


class UsageError(CommandError):
    """Bad input from the user."""
    exit = USAGE


class NotFound(CommandError):
    """What the command names does not exist, or cannot be acted on now."""
    exit = NOT_FOUND


class AwsError(CommandError):
    """AWS refused the call or could not be reached (cutover.aws.errors makes it from AWS's own error):
    `code` is AWS's error code, `detail` its code and words."""
    exit = AWS_ERROR

    def __init__(self, message: str, *, code: str | None = None, detail: str = ""):
        super().__init__(message)
        self.code, self.detail = code, detail or message


class Interrupted(CommandError):
    exit = INTERRUPTED


class Unexpected(CommandError):
    """A bug in Cutover: said in one line; CUTOVER_DEBUG=1 shows the stack trace."""


def of(error: BaseException) -> CommandError:
    """The command error an exception ends a command with (AWS's own errors are made AwsError first,
    by cutover.aws.errors.translate)."""
    if isinstance(error, CommandError):
        return error
    if isinstance(error, errors.ReleaseError):
        # A step's own check, made by the command (cutover plan's reads): the error says its exit code.
        failure = CommandError(str(error))
        failure.exit = next(e for e in TABLE if e.code == error.exit_code)
        return failure
    if isinstance(error, KeyboardInterrupt):
        return Interrupted("interrupted; the release itself goes on (cutover status shows it)")
    return Unexpected(f"unexpected {type(error).__name__}: {error} (CUTOVER_DEBUG=1 shows where)")
