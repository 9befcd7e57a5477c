"""The docs say what the code does: generated parts are current, links resolve, the README's example is valid."""
from __future__ import annotations

import contextlib
import io
import pathlib
import re
import shlex

import pytest

from cutover.cli import parser as cli
from cutover.operations import configfile
from cutover.definition import diagram

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_flow_diagram_in_the_docs_is_the_definition_drawn_now():
    text = (ROOT / "docs" / "release.md").read_text(encoding="utf-8")
    drawn = re.search(r"```mermaid\n(.*?)```", text, re.S).group(1)
    assert drawn.strip() == diagram.mermaid().strip(), \
        "docs/release.md is stale: replace its mermaid block with the output of `python -m cutover diagram`"


def test_the_exit_code_table_lists_every_exit_code_as_the_command_line_does():
    text = (ROOT / "docs" / "commands.md").read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| (\d+) \| (.+?) \|$", text, re.M))
    assert table == {str(code): meaning for code, meaning in cli.EXIT_CODES.items()}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_points_at_a_file_of_the_repository(page):
    text = page.read_text(encoding="utf-8")
    targets = [t.split("#")[0] for t in re.findall(r"\]\(([^)\s]+)\)", text) if not re.match(r"https?:|#|mailto:", t)]
    missing = [t for t in targets if not (page.parent / t).exists()]
    assert not missing, f"{page.name} links to files that do not exist: {missing}"


def test_the_readme_example_is_a_valid_deploy_config(tmp_path):
    example = re.search(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S).group(1)
    path = tmp_path / "deploy.yaml"
    path.write_text(example, encoding="utf-8")
    checked = configfile.check(str(path))
    assert checked.valid, checked.problems
    assert checked.config.service == "web" and [r.name for r in checked.config.routes] == ["www"]


def _commands(page: str) -> list[str]:
    """The `cutover …` commands a page tells people to run, in code spans and code blocks (not those with a …)."""
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    found = re.findall(r"`(cutover [^`]+)`", text) + re.findall(r"^(?:\$ )?\s*(?:python -m )?(cutover [^\n#]+)", text, re.M)
    return sorted({c.strip() for c in found if "…" not in c and "..." not in c})


@pytest.mark.parametrize("command", [*_commands("deploying.md"), *_commands("walkthrough.md")])
def test_the_runbook_s_commands_are_commands_the_command_line_takes(command):
    parser = cli.build_parser()
    with contextlib.redirect_stderr(io.StringIO()) as err:
        try:
            args = parser.parse_args(shlex.split(command)[1:])
        except SystemExit:
            pytest.fail(f"`{command}` is refused: {err.getvalue().strip()}")
    assert args.handler is not None


def test_the_runbook_names_every_exit_code_and_domain_error():
    from cutover_steps.errors import domain_errors

    text = (ROOT / "docs" / "deploying.md").read_text(encoding="utf-8")
    for code in cli.EXIT_CODES:
        assert code in (0, 130) or f"| {code} |" in text, code
    for error in domain_errors():
        assert f"`{error.__name__}`" in text, error.__name__


def test_the_module_table_and_the_step_trail_are_the_tree_as_it_is():
    from cutover import layout
    assert layout.current() == layout.generated(), \
        "docs/development.md's module table is stale: run `python -m cutover.layout`"
