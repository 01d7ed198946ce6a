"""The documentation keeps up with the code.

The code is the source of truth, as in datasette's tests/test_docs.py (every entry of
``app.SETTINGS`` must have a heading in docs/settings.rst): every field of
``copyadvisor.config.Config`` must have a row, with its environment variable, in the
README's configuration table; docs/cli.md must be exactly what scripts/gen_cli_docs.py
makes from the parser (like datasette's and llm's ``cog --check``); the README stays a
short manual; and every relative link in README.md and docs/*.md points at a file (and
heading) that exists. Each checker is also run on a broken copy, to show it notices.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import fields
from pathlib import Path

import pytest

from copyadvisor.config import ENV_PREFIX, Config

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
CLI_DOC = DOCS / "cli.md"
README_LIMIT = 12 * 1024  # bytes

# Rows for settings that are on branches not merged yet carry this mark; they may name a
# field that Config does not have (yet). Any other row must name a real field.
COMING = "*(coming)*"
# Pages that other branches add; docs/index.md links to them already.
PENDING_PAGES = {DOCS / "performance.md", DOCS / "loading.md"}


def load_generator():
    spec = importlib.util.spec_from_file_location("gen_cli_docs", ROOT / "scripts" / "gen_cli_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen_cli_docs = load_generator()


# --- the configuration table -------------------------------------------------------------

def config_fields() -> list[str]:
    return [f.name for f in fields(Config)]


def env_var(name: str) -> str:
    return ENV_PREFIX + name.upper()


def section(markdown: str, heading: str) -> str:
    """The text under ``## heading`` up to the next ``## `` heading ('' if there is none)."""
    match = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", markdown, flags=re.M | re.S)
    return match.group(1) if match else ""


def config_rows(markdown: str) -> dict[str, str]:
    """Field name -> its whole table row, from the README's Configuration section."""
    rows = {}
    for line in section(markdown, "Configuration").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.lstrip().startswith("|") and cells and re.fullmatch(r"`[a-z0-9_]+`", cells[0]):
            rows[cells[0].strip("`")] = line
    return rows


def config_table_problems(markdown: str, field_names: list[str]) -> list[str]:
    """What the table lacks (or names wrongly) for these fields; [] when it is complete."""
    rows = config_rows(markdown)
    problems = []
    for name in field_names:
        if name not in rows:
            problems.append(f"Config.{name} has no row in the README's configuration table")
        elif f"`{env_var(name)}`" not in rows[name]:
            problems.append(f"the README's row for Config.{name} does not name `{env_var(name)}`")
    for name, row in rows.items():
        if name not in field_names and COMING not in row:
            problems.append(f"the README's configuration table has a row for `{name}`, which is not a Config field")
    return problems


def test_every_config_field_is_in_the_readme_table():
    assert config_table_problems(README.read_text(encoding="utf-8"), config_fields()) == []


@pytest.mark.parametrize("name", config_fields())
def test_the_checker_reports_a_removed_row(name):
    readme = README.read_text(encoding="utf-8")
    stripped = "\n".join(line for line in readme.splitlines() if not line.startswith(f"| `{name}` |"))
    assert stripped != readme
    assert config_table_problems(stripped, config_fields()) == [
        f"Config.{name} has no row in the README's configuration table"]


def test_the_checker_reports_a_row_without_its_environment_variable():
    readme = README.read_text(encoding="utf-8").replace("`COPYADVISOR_RATE_LIMIT`", "`RATE_LIMIT`")
    assert config_table_problems(readme, config_fields()) == [
        "the README's row for Config.rate_limit does not name `COPYADVISOR_RATE_LIMIT`"]


def test_the_checker_reports_a_field_added_to_the_code():
    """A field another branch adds to Config (and forgets to document) fails the test."""
    readme = README.read_text(encoding="utf-8")
    assert config_table_problems(readme, config_fields() + ["new_setting"]) == [
        "Config.new_setting has no row in the README's configuration table"]


def test_rows_for_settings_not_merged_yet_are_marked():
    readme = README.read_text(encoding="utf-8")
    rows = config_rows(readme)
    for name in ("embedder_dtype", "admin_token"):  # announced on other branches
        assert f"`{env_var(name)}`" in rows[name]
        assert name in config_fields() or COMING in rows[name]
    unmarked = readme.replace("| *(coming)* `auto`", "| `auto`")
    if "embedder_dtype" not in config_fields():
        assert "a row for `embedder_dtype`, which is not a Config field" in " ".join(
            config_table_problems(unmarked, config_fields()))


# --- the command-line reference ----------------------------------------------------------

def cli_doc_problems(page: str) -> list[str]:
    """Commands without a section in the page, and whether the page is stale."""
    parser = gen_cli_docs.parser()
    problems = [f"`copyadvisor {command}` has no section in docs/cli.md"
                for command in gen_cli_docs.command_paths(parser)
                if not re.search(rf"^#+ copyadvisor {re.escape(command)}$", page, flags=re.M)]
    if page != gen_cli_docs.render(parser):
        problems.append("docs/cli.md is out of date with the parser: run `make docs`")
    return problems


def test_cli_doc_covers_every_command_and_matches_the_parser():
    assert cli_doc_problems(CLI_DOC.read_text(encoding="utf-8")) == []


def test_cli_doc_covers_the_main_commands():
    commands = gen_cli_docs.command_paths(gen_cli_docs.parser())
    assert {"ask", "review", "search", "index", "serve", "eval", "bench", "gloss", "fetch-embedder"} <= set(commands)


def test_the_cli_checker_reports_a_missing_command():
    page = CLI_DOC.read_text(encoding="utf-8")
    without_serve = re.sub(r"^### copyadvisor serve$.*?(?=^#+ |\Z)", "", page, flags=re.M | re.S)
    assert cli_doc_problems(without_serve) == [
        "`copyadvisor serve` has no section in docs/cli.md",
        "docs/cli.md is out of date with the parser: run `make docs`"]


def test_the_cli_checker_reports_a_stale_option():
    page = CLI_DOC.read_text(encoding="utf-8").replace("--all-translations", "--all-langs")
    assert cli_doc_problems(page) == ["docs/cli.md is out of date with the parser: run `make docs`"]


def test_cli_doc_does_not_depend_on_the_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    assert gen_cli_docs.render(gen_cli_docs.parser()) == CLI_DOC.read_text(encoding="utf-8")


# --- size and links ----------------------------------------------------------------------

def test_readme_is_a_short_manual():
    size = len(README.read_bytes())
    assert size <= README_LIMIT, f"README.md is {size} bytes; keep it under {README_LIMIT} and move detail to docs/"


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


FENCE = re.compile(r"^(```|~~~).*?^\1", flags=re.M | re.S)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, -1, -2 for repeats."""
    seen: dict[str, int] = {}
    found = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", FENCE.sub("", markdown), flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        found.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return found


def link_problems(path: Path, text: str) -> list[str]:
    """Relative links in ``text`` (the content of ``path``) to files or headings that do not exist."""
    problems = []
    for target in LINK.findall(FENCE.sub("", text)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, flags=re.I):  # http:, https:, mailto: ...
            continue
        file_part, _, fragment = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        where = f"{path.relative_to(ROOT)}: {target}"
        if not linked.exists():
            if linked not in PENDING_PAGES:
                problems.append(f"{where} points at a file that does not exist")
            continue
        if fragment and linked.suffix == ".md" and fragment not in anchors(linked.read_text(encoding="utf-8")):
            problems.append(f"{where} points at a heading that does not exist")
    return problems


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_at_existing_files(path):
    assert link_problems(path, path.read_text(encoding="utf-8")) == []


def test_the_link_checker_reports_broken_links():
    text = "See [gone](docs/gone.md), [here](#nowhere), [ok](docs/index.md) and [web](https://example.com/x.md).\n## Somewhere\n"
    assert link_problems(README, text) == [
        "README.md: docs/gone.md points at a file that does not exist",
        "README.md: #nowhere points at a heading that does not exist"]


def test_docs_index_lists_every_page():
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    for page in DOCS.glob("*.md"):
        if page.name != "index.md":
            assert f"]({page.name})" in index, f"docs/index.md does not list {page.name}"
