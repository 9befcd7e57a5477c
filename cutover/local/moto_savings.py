"""Where moto spends time rebuilding what it built before from the same input, kept instead: each
saving changes nothing a release can see, only what the local engine costs in CPU.

Each saving replaces one private moto name, which is why moto is pinned exactly, or is one of moto's
own settings in `ENVIRONMENT`.
"""
from __future__ import annotations

import functools
import threading
from typing import Any

# moto's settings, read from the environment, which the local engine sets while it runs.
ENVIRONMENT = {
    # Fargate tasks run no machine image, yet moto's EC2 loads its catalogue of public ones into every
    # new account: about a fifth of a second of CPU each time, for nothing.
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
}


def validate_each_definition_once() -> None:
    """CreateStateMachine parses the definition to validate it (about half a second of CPU for the
    release's). A definition text that was valid once is valid again: the local engine creates the
    same one in every new account, so its validation is remembered. An invalid one is parsed, and
    refused, every time."""
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original = StepFunctionsParserBackend.__dict__["_validate_definition"].__func__
    if getattr(original, "cutover_saving", False):
        return
    valid: set[str] = set()

    def remembered(definition: str):
        if definition not in valid:
            original(definition=definition)
            valid.add(definition)

    remembered.cutover_saving = True
    StepFunctionsParserBackend._validate_definition = staticmethod(remembered)


def parse_each_definition_once() -> None:
    """Each execution parses its definition again (about a third of a second of CPU for the
    release's, most of a short release's own cost). The syntax tree of a definition text is the
    same every time: it is kept, and only the evaluation components, which hold an execution's
    state, are built anew for each execution."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    original = AmazonStateLanguageParser.__dict__["parse"].__func__
    if getattr(original, "cutover_saving", False):
        return
    trees: dict[str, Any] = {}

    def parse(definition: str):
        tree = trees.get(definition)
        if tree is None:
            program, tree = original(definition)  # an invalid definition raises here, every time
            trees[definition] = tree
            return program, tree
        return Preprocessor().visit(tree), tree

    parse.cutover_saving = True
    AmazonStateLanguageParser.parse = staticmethod(parse)


def parse_each_json_path_once() -> None:
    """Every InputPath, OutputPath, ResultPath and `.$` parameter is a JSONPath that moto's
    interpreter parses again each time a state runs it (jsonpath_ng's parser, a few milliseconds
    each, about a twentieth of a release's CPU). A path's parsed form only describes the path, and
    finding or updating values does not change it, so each path text is parsed once."""
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    for module in (json_path, result_path):
        if not getattr(module.parse, "cutover_saving", False):
            kept = functools.lru_cache(maxsize=None)(module.parse)
            kept.cutover_saving = True
            module.parse = kept


class _KeptClients:
    """boto3 as moto's interpreter sees it: a Task state's client is made once per service, region
    and endpoint instead of for every call (making one costs about as much as the call it makes)."""

    def __init__(self, boto3_module: Any):
        self.boto3 = boto3_module
        self.cutover_saving = True
        self._lock = threading.Lock()
        self._clients: dict[tuple[Any, ...], Any] = {}

    def client(self, **kwargs: Any) -> Any:
        # The interpreter passes the same fixed credentials and settings on every call, so these
        # three name the client; the endpoint tells the in-process mock from a server on a port.
        key = (kwargs.get("service_name"), kwargs.get("region_name"), kwargs.get("endpoint_url"))
        with self._lock:  # making a client is not thread-safe, and executions run on threads
            if key not in self._clients:
                self._clients[key] = self.boto3.client(**kwargs)
            return self._clients[key]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.boto3, name)


def keep_the_interpreters_clients() -> None:
    """Each Lambda task and service integration of an execution asks `boto_client_for` for a new
    boto3 client (about a tenth of a release's CPU). Its requests go to the same mock every time:
    moto's stubber while the mock runs in-process, the server's port otherwise, both in the key."""
    from moto.stepfunctions.parser.asl.utils import boto_client

    if not getattr(boto_client.boto3, "cutover_saving", False):
        boto_client.boto3 = _KeptClients(boto_client.boto3)


def install() -> None:
    validate_each_definition_once()
    parse_each_definition_once()
    parse_each_json_path_once()
    keep_the_interpreters_clients()
