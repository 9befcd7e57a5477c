"""The step code's layout holds: a step's handler is found from its registry key, only the adapters talk to
AWS, the reads call the adapters and the decisions call neither, and no module of the step code imports
itself back through another."""
from __future__ import annotations

import ast
import json
from pathlib import Path

from cutover_steps import registry

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "lambdas" / "cutover_steps"
# botocore's service models (the config's AWS fields are checked against them) are data, not calls.
SERVICE_MODELS = {"botocore", "botocore.session"}
# Decision modules that still make their own reads through the adapters: to be split into a read and a
# pure decision. The list is exact (a module that stops importing adapters must leave it), so it only shrinks.
STILL_READING: set[str] = set()


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(path: Path, *, on_import: bool = False) -> set[str]:
    """Every module an import statement of the file names, wherever the statement is (`on_import`: only
    those that run when the module is imported, not those inside its functions)."""
    names = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if on_import else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _internal(path: Path, modules: dict[str, Path], *, on_import: bool = False) -> set[str]:
    return {name.removeprefix("cutover_steps.") for name in _imports(path, on_import=on_import)
            if name.startswith("cutover_steps.") and name.removeprefix("cutover_steps.") in modules}


# Modules of steps/ that are no step's handler: the marking that two steps share.
SHARED_BY_STEPS = {"steps.obsolete"}


def test_every_step_s_handler_is_the_module_named_after_its_key_and_steps_holds_no_other():
    modules = _modules()
    # Given the registry, when each step's module is derived from its key
    derived = {step.key: step.module.removeprefix("cutover_steps.") for step in registry.STEPS}
    # Then it is steps/<key in snake_case>.py, and it exists
    assert derived["CheckHealth"] == "steps.check_health" and derived["RetireOldVersion"] == "steps.retire_old_version"
    assert not {key: module for key, module in derived.items() if module not in modules}, "a step without its module"
    # And every other module of steps/ is one the steps share, so that a step's code is found from its key alone
    others = {name for name in modules if name.startswith("steps.")} - set(derived.values())
    assert others == SHARED_BY_STEPS, f"modules of steps/ that no registry key names: {sorted(others - SHARED_BY_STEPS)}"


def test_only_the_adapters_import_the_aws_sdk():
    # Given every module of the step code outside adapters/
    outside = {name: path for name, path in _modules().items() if not name.startswith("adapters")}
    # When its imports are read, then none is boto3's or botocore's (its service models aside)
    offenders = {name: sorted(i for i in _imports(path) if i.split(".")[0] in {"boto3", "botocore"}
                              and i not in SERVICE_MODELS and not i.startswith("botocore.xform_name"))
                 for name, path in outside.items()}
    offenders = {name: found for name, found in offenders.items() if found}
    assert not offenders, f"AWS SDK imported outside cutover_steps/adapters/: {offenders}"


def test_decisions_import_no_adapter():
    modules = _modules()
    # Given the decision modules, when their imports are read
    reading = {name for name, path in modules.items() if name.startswith("decisions.")
               and any(i == "adapters" or i.startswith("adapters.") for i in _internal(path, modules))}
    # Then none imports an adapter, but for those still listed to be split (and all of those still do)
    assert reading == STILL_READING, (f"decisions importing adapters: {sorted(reading - STILL_READING)}; "
                                      f"listed but no longer reading (remove them): {sorted(STILL_READING - reading)}")


def test_decisions_import_no_read_and_reads_no_step():
    modules = _modules()
    # Given the decision modules and the reads (reads/ sits between adapters/ and steps/: it may call the
    # adapters and decide nothing; a decision takes what was read as plain values)
    found = {name: _internal(path, modules) for name, path in modules.items()}
    # When their imports are read, then no decision imports a read, and no read imports a step
    deciding_reads = {name: sorted(i for i in imports if i == "reads" or i.startswith("reads."))
                      for name, imports in found.items() if name.startswith("decisions.")}
    reads_steps = {name: sorted(i for i in imports if i == "steps" or i.startswith("steps."))
                   for name, imports in found.items() if name == "reads" or name.startswith("reads.")}
    assert not {k: v for k, v in deciding_reads.items() if v}, f"decisions importing reads: {deciding_reads}"
    assert not {k: v for k, v in reads_steps.items() if v}, f"reads importing steps: {reads_steps}"


def test_no_module_of_the_step_code_imports_itself_back():
    modules = _modules()
    # Imports made when a module is imported (config.rules imports the pydantic models inside the two
    # functions that describe them, so that the steps never load pydantic: that one runs later).
    graph = {name: {i for i in _internal(path, modules, on_import=True) if i != name} for name, path in modules.items()}
    # A package's own __init__ is no edge: `from cutover_steps.steps import x` names the module x.
    graph = {name: {i for i in edges if not (modules[i].name == "__init__.py")} for name, edges in graph.items()}
    cycles, state = [], {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(trail[trail.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    # Then the imports go one way
    assert not cycles, "import cycles in cutover_steps: " + "; ".join(" -> ".join(c) for c in cycles)


# Modules that still spell state names of the definition: they run inside the step functions, whose code
# asset does not carry the definition yet. The list is exact, so it only shrinks.
STILL_SPELLING_STATES: set[str] = set()


def test_no_module_of_the_step_code_spells_a_state_name():
    # Given every state name of the definitions
    states = set()
    for path in (ROOT / "statemachine").glob("*.asl.json"):
        def walk(machine: dict) -> None:
            for name, state in machine["States"].items():
                if " " in name:  # a one-word state (`Undone`) is also a word of the steps' messages
                    states.add(name)
                for branch in state.get("Branches", []) + ([state["Iterator"]] if "Iterator" in state else []) + (
                        [state["ItemProcessor"]] if "ItemProcessor" in state else []):
                    walk(branch)
        walk(json.loads(path.read_text(encoding="utf-8")))
    # When the string constants of each module are read
    spelling = {}
    for name, path in _modules().items():
        constants = {node.value for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                     if isinstance(node, ast.Constant) and isinstance(node.value, str)}
        if constants & states:
            spelling[name] = sorted(constants & states)
    # Then none names a state, but for those still listed (and all of those still do)
    assert set(spelling) == STILL_SPELLING_STATES, f"state names spelt in the step code: {spelling}"


# The one module that reads the earlier results by their keys, for everyone else (`event.results.live`).
RESULTS_VIEW = "runtime.earlier_results"


def _named_results(node: ast.AST) -> bool:
    """`results`, `event.results`, `x.results.raw`: the earlier results, or the dict under their view."""
    if isinstance(node, ast.Attribute) and node.attr == "raw":
        node = node.value
    return (isinstance(node, ast.Name) and node.id == "results") or (isinstance(node, ast.Attribute) and node.attr == "results")


def _string_key_reads(source: str) -> list[str]:
    """Each read of an earlier result by a string key: `.result("live")`, `results.get("live")`,
    `results["live"]`, `getattr(event.results, "live")`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            func = node.func
            if isinstance(func, ast.Attribute) and (func.attr == "result" or (func.attr == "get" and _named_results(func.value))):
                found.append(ast.unparse(node))
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" and len(node.args) >= 2
                and _named_results(node.args[0]) and isinstance(node.args[1], ast.Constant)):
            found.append(ast.unparse(node))
        if (isinstance(node, ast.Subscript) and _named_results(node.value) and isinstance(node.slice, ast.Constant)
                and isinstance(node.slice.value, str)):
            found.append(ast.unparse(node))
    return found


def test_the_string_key_reads_are_recognised():
    # Given each way of reading an earlier result by its key, and the typed reads that replace them
    source = ('event.result("live").get("routes", [])\nresults.get("traffic") or {}\nevent.results["watch"]\n'
              'getattr(event.results, "health")\nevent.results.raw.get("lock")\n'
              'event.results.live.routes\ngetattr(event.results, phase)\nfound.get("results")\nvalues.get(q["id"])\n')
    # Then the first five are found, and none of the others
    assert sorted(_string_key_reads(source)) == sorted([
        "event.result('live')", "results.get('traffic')", "event.results['watch']", "getattr(event.results, 'health')",
        "event.results.raw.get('lock')"])


def test_earlier_results_are_read_through_their_typed_view_only():
    # Given every module of the step code but the view's own
    modules = {name: path for name, path in _modules().items() if name != RESULTS_VIEW}
    # When its reads of the earlier results are looked at
    reads = {name: found for name, path in modules.items() if (found := _string_key_reads(path.read_text(encoding="utf-8")))}
    # Then none reads one by a string key: `event.results.live.routes`, typed by the registry, instead
    assert not reads, f"earlier results read by a string key (read them as event.results.<key>): {reads}"


def test_every_package_of_the_step_code_ships_in_the_wheel():
    import tomllib
    # Given the packages pyproject.toml lists (by name: setuptools ships only those)
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    # When every folder of the step code with an __init__.py is named as a package
    packages = {".".join(("cutover_steps", *path.parent.relative_to(PACKAGE).parts)) for path in PACKAGE.rglob("__init__.py")}
    # Then each is listed, so an installed Cutover imports it
    assert not packages - listed, f"step code packages missing from pyproject.toml's packages: {sorted(packages - listed)}"
