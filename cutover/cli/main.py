"""The entry point: parse, run the command, and render any error it ends with, once, here."""
from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from typing import TextIO

from cutover import exits
from cutover.aws import errors as aws_errors
from cutover.cli.context import Context
from cutover.cli.parser import build_parser


# The error names of --output json.
ERROR_CODES = {e.code: e.name for e in exits.TABLE if e.name}


def _wants_json(argv: list[str]) -> bool:
    """--output json, read before parsing: a usage error gets the JSON error shape too."""
    return any(a == "--output=json" or (a == "--output" and i + 1 < len(argv) and argv[i + 1] == "json")
               for i, a in enumerate(argv))


def _emit_error(out: TextIO, exit_code: int, message: str) -> None:
    # On one line: a streaming command's JSON Lines end with it, and a script reads it the same way elsewhere.
    out.write(json.dumps({"error": {"code": ERROR_CODES[exit_code], "message": message, "exit_code": exit_code}}) + "\n")
    out.flush()


def _error(ctx: Context, exit_code: int, message: str) -> int:
    """Every error: a line on stderr for people; with --output json also `{"error": …}` on stdout."""
    ctx.err.write(f"cutover {ctx.args.command}: {message}\n")
    if ctx.json:
        _emit_error(ctx.out, exit_code, message)
    return exit_code


def main(argv: list[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    argv = sys.argv[1:] if argv is None else argv
    as_json = _wants_json(argv)
    parser = build_parser()
    usage = io.StringIO()
    try:
        # argparse prints help and usage errors itself; send them where this call writes.
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(usage):
            args = parser.parse_args(argv)
    except SystemExit as exit_:
        code = int(exit_.code or 0)
        err.write(usage.getvalue())
        if code and as_json:
            message = usage.getvalue().strip().splitlines()[-1].split(": error: ", 1)[-1]
            _emit_error(out, exits.USAGE.code, message)
        return code
    ctx = Context(args, out, err)

    try:
        return args.handler(ctx)
    except (Exception, KeyboardInterrupt) as error:
        failure = exits.of(aws_errors.translate(error))
        if isinstance(failure, exits.Unexpected) and os.environ.get("CUTOVER_DEBUG"):
            raise
        return _error(ctx, failure.exit_code, str(failure))
