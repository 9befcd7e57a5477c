"""Run the command line in-process as a user would, capturing what they would read."""
from __future__ import annotations

import io
from dataclasses import dataclass

from cutover.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str


def cutover(*argv: str) -> Result:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return Result(code, out.getvalue(), err.getvalue())
