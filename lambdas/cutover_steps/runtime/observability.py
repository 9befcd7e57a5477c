"""Powertools Logger and Metrics, created once here for every step, and X-Ray tracing when it is on.

Tracing is decided when a handler is wrapped: off (outside Lambda, or `POWERTOOLS_TRACE_DISABLED`),
the X-Ray SDK is never imported, so a handler imports as fast as its own code allows and needs no
optional package; on, the Powertools Tracer wraps the handler as usual.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics

SERVICE = "cutover"
logger = Logger(service=SERVICE)
metrics = Metrics(namespace="Cutover", service=SERVICE)

_FALSE = {"", "0", "false", "f", "no", "n", "off"}


def tracing_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the Powertools Tracer would trace: inside Lambda, not under SAM or Chalice local,
    and not turned off with POWERTOOLS_TRACE_DISABLED (the same rule the Tracer applies)."""
    environ = os.environ if environ is None else environ
    if environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() not in _FALSE:
        return False
    local = environ.get("AWS_SAM_LOCAL") or environ.get("AWS_CHALICE_CLI_MODE")
    return bool(environ.get("LAMBDA_TASK_ROOT")) and not local


def traced(handler: Callable[[dict, Any], dict], environ: Mapping[str, str] | None = None) -> Callable[[dict, Any], dict]:
    """The handler under an X-Ray subsegment when tracing is on; the handler itself otherwise."""
    if not tracing_enabled(environ):
        return handler
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE).capture_lambda_handler(handler, capture_response=False)
