"""When Lambda stops supporting each Python runtime, so a test can refuse a stack that names one about to go.

Source: AWS Lambda developer guide, "Building Lambda functions with Python", table of supported
runtimes (https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html), read 2026-12-07. After
the deprecation date a runtime gets no more security patches; after "block function create" no new
function can use it, after "block function update" no function can be changed (the Lambda runtime
support policy: https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

SOURCE = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html"
# A deployed stack should outlive a year of releases without a runtime change forced on it.
NOTICE = timedelta(days=365)


@dataclass(frozen=True)
class Support:
    operating_system: str
    deprecation: date
    block_create: date
    block_update: date


PYTHON_RUNTIMES = {
    "python3.14": Support("Amazon Linux 2023", date(2029, 6, 30), date(2029, 7, 31), date(2029, 8, 31)),
    "python3.13": Support("Amazon Linux 2023", date(2029, 6, 30), date(2029, 7, 31), date(2029, 8, 31)),
    "python3.12": Support("Amazon Linux 2023", date(2028, 10, 31), date(2028, 11, 30), date(2029, 1, 10)),
    "python3.11": Support("Amazon Linux 2", date(2027, 6, 30), date(2027, 7, 31), date(2027, 8, 31)),
    "python3.10": Support("Amazon Linux 2", date(2026, 10, 31), date(2026, 11, 30), date(2027, 1, 15)),
}


def problem(runtime: str, today: date | None = None) -> str | None:
    """Why `runtime` should not be deployed today, or None when it is supported for at least NOTICE more."""
    today = today or date.today()
    support = PYTHON_RUNTIMES.get(runtime)
    if support is None:
        return f"{runtime} is not in the table of supported Lambda runtimes ({SOURCE})"
    if support.operating_system != "Amazon Linux 2023":
        return f"{runtime} runs on {support.operating_system}, not Amazon Linux 2023"
    if support.deprecation - today < NOTICE:
        return (f"Lambda deprecates {runtime} on {support.deprecation.isoformat()}, less than a year from "
                f"{today.isoformat()} ({SOURCE})")
    return None
