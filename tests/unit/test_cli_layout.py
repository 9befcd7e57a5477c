"""The command line's import rules, read from its source with `ast` (imports inside functions count
too): no import cycle among its modules, and only `cutover/aws/` talks to AWS through boto3 (the local
engine and the CDK construct aside); the command line never catches an error to raise another (every
error carries its exit code and one handler renders it)."""
from __future__ import annotations

import ast
import pathlib
from collections.abc import Iterator

from cutover import ROOT

PACKAGE = pathlib.Path(ROOT) / "cutover"


def module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
# Where boto3 and botocore may be imported: every AWS call of the command line, and its errors, are made
# in cutover.aws; the local engine is the emulated AWS; the CDK construct makes no call.
AWS_CALLERS = ("cutover.aws", "cutover.local", "cutover.cdk")
# botocore's service models describe the APIs without calling them (validation may read them anywhere).
SERVICE_MODELS = ("botocore.loaders", "botocore.model")


def imported_names(name: str, path: pathlib.Path) -> Iterator[str]:
    """Every name an import statement of the module reaches, module-level or inside a function:
    `import a.b` gives a.b, `from a import b` gives a and a.b (b may be a module or a name in a), or
    only a.b when b is a module of this package."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1])
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            named = [f"{source}.{alias.name}" for alias in node.names]
            # `from package import module`: the modules are what is imported (any import of a module runs
            # its package's __init__ first, which no edge stands for)
            if not all(name in MODULES for name in named):
                yield source
            yield from named


def own_module(name: str) -> str | None:
    """The module of this package an imported name lies in (a name in a module is that module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        reached = {own_module(n) for n in imported_names(name, path) if n.split(".")[0] == "cutover"}
        graph[name] = {m for m in reached if m and m != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_sees_imports_inside_functions():
    # Given a module whose only import of another module of the package is inside a function
    graph = import_graph()
    # Then the graph has that edge (the release commands import the follower where `--wait` needs it)
    assert "cutover.output.progress" in graph["cutover.cli.releases"]


def test_a_cycle_is_found_when_two_modules_import_each_other():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_of_the_command_line_is_in_an_import_cycle():
    # Given every import of every module of cutover/, at module level or in a function
    # Then no module reaches itself through them: each layer only imports the layers below it
    assert cycles(import_graph()) == []


def aws_sdk_imports(name: str) -> set[str]:
    """The boto3 and botocore modules a module imports, service models aside."""
    return {n for n in imported_names(name, MODULES[name])
            if n.split(".")[0] in ("boto3", "botocore") and not n.startswith(SERVICE_MODELS)}


def test_the_aws_sdk_is_seen_where_it_is_imported():
    # Given the module that turns AWS's errors into the command line's
    # Then its import of botocore's exceptions is seen
    assert "botocore.exceptions" in aws_sdk_imports("cutover.aws.errors")


def test_only_cutover_aws_imports_boto3_or_botocore_in_the_command_line():
    # Given every module of cutover/ but the AWS layer, the local engine and the CDK construct
    others = [name for name in MODULES if not (name + ".").startswith(tuple(p + "." for p in AWS_CALLERS))]
    # Then none imports boto3 or botocore (a client, an error class, a type), at any level
    assert {name: sorted(aws_sdk_imports(name)) for name in others if aws_sdk_imports(name)} == {}


def rewrapped_errors(path: pathlib.Path) -> list[str]:
    """Each `raise X` inside an `except` block of the module (a bare `raise`, which re-raises, is not one)."""
    found = []
    for handler in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(handler, ast.ExceptHandler):
            found += [f"{path.name}:{node.lineno}" for stmt in handler.body for node in ast.walk(stmt)
                      if isinstance(node, ast.Raise) and node.exc is not None]
    return found


def test_a_raise_in_an_except_block_is_seen():
    # Given the module that turns AWS's errors into the command line's, which raises one in its except block
    # Then that raise is found
    assert [where.split(":")[0] for where in rewrapped_errors(PACKAGE / "aws" / "errors.py")] == ["errors.py"]


def test_the_command_line_never_catches_an_error_to_raise_another():
    # Given the modules that parse arguments, call an operation and render what it found
    parsing = [path for name, path in MODULES.items() if name == "cutover.cli" or name.startswith("cutover.cli.")]
    assert {"main.py", "releases.py", "configs.py"} <= {path.name for path in parsing}
    # Then none re-wraps an error: operations raise errors that carry their exit code, and AWS's errors are
    # translated in cutover.aws
    assert [where for path in parsing for where in rewrapped_errors(path)] == []
