"""MkDocs build hooks (``hooks:`` in mkdocs.yml): the pages that are made at build time.

* ``cli.md``: the command-line reference, from stablenet's own argparse parser (the
  ``--help`` of every command), so it cannot drift from the code;
* ``examples.md``: every ``examples/*.py`` is run in a temporary directory (the build
  fails when one fails); the page shows its docstring, the command, its output, the
  figures it wrote and its source;
* ``index.md``, ``benchmarks.md`` and ``developers.md``: the repository's README.md,
  BENCHMARKS.md and DEVELOPERS.md, their links to repository files rewritten for the site.

This file is excluded from the site (``exclude_docs``).
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
#: repository Markdown files that are pages of the site, and their page names
PAGES = {"README.md": "index.md", "BENCHMARKS.md": "benchmarks.md",
         "DEVELOPERS.md": "developers.md"}
EXAMPLE_TIMEOUT = 300  # seconds per example


def on_files(files: Files, config) -> Files:
    sys.path.insert(0, str(ROOT / "src"))  # the stablenet of this checkout
    files.append(File.generated(config, "cli.md", content=cli_reference()))
    for name in ("README.md", "BENCHMARKS.md", "DEVELOPERS.md"):
        text = site_links((ROOT / name).read_text(encoding="utf-8"), docs=ROOT / "docs")
        files.append(File.generated(config, PAGES[name], content=text))
    page, figures = run_examples()
    files.append(File.generated(config, "examples.md", content=page))
    for name, data in figures.items():
        files.append(File.generated(config, f"examples/{name}", content=data))
    return files


# -- the CLI reference --------------------------------------------------------------------
def cli_reference() -> str:
    from stablenet.cli import build_parser

    parser = build_parser()
    lines = ["# Command-line reference", "",
             "Generated from the argparse definitions when the documentation is built: the "
             "same text as `stablenet COMMAND --help`.", "", "```text",
             _help(parser, "stablenet"), "```", ""]
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sub.choices.items():
        lines += [f"## stablenet {name}", "", command.description or "", "", "```text",
                  _help(command, f"stablenet {name}"), "```", ""]
    return "\n".join(lines)


def _help(parser: argparse.ArgumentParser, prog: str) -> str:
    parser.prog = prog
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"  # argparse wraps at $COLUMNS
    try:
        return parser.format_help().rstrip()
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


# -- the examples -------------------------------------------------------------------------
def run_examples() -> tuple[str, dict[str, bytes]]:
    lines = ["# Examples", "",
             "Each script of `examples/` was run when this site was built, in an empty "
             "directory (`python examples/NAME.py`); below: what it does, what it printed, "
             "the figures it wrote and its source.", ""]
    figures: dict[str, bytes] = {}
    for script in sorted((ROOT / "examples").glob("*.py")):
        source = script.read_text(encoding="utf-8")
        doc = ast.get_docstring(ast.parse(source)) or ""
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "MPLBACKEND": "Agg",
                   "PYTHONPATH": os.pathsep.join([str(ROOT / "src"),
                                                  os.environ.get("PYTHONPATH", "")])}
            proc = subprocess.run([sys.executable, str(script)], cwd=tmp, env=env,
                                  capture_output=True, text=True, timeout=EXAMPLE_TIMEOUT)
            if proc.returncode != 0:
                raise RuntimeError(f"examples/{script.name} failed (exit {proc.returncode}):\n"
                                   f"{proc.stdout}\n{proc.stderr}")
            written = sorted(Path(tmp).rglob("*.png"))
            for png in written:
                figures[f"{script.stem}-{png.name}"] = png.read_bytes()
        lines += [f"## {script.name}", "", doc, "", "Output:", "", "```text",
                  proc.stdout.rstrip(), "```", ""]
        lines += [f"![{png.name}](examples/{script.stem}-{png.name})" for png in written]
        lines += ["", "Source:", "", "```python", source.rstrip(), "```", ""]
    return "\n".join(lines), figures


# -- repository pages ---------------------------------------------------------------------
LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")


def site_links(text: str, docs: Path) -> str:
    """Links of a repository Markdown file made valid on the site: ``docs/X`` -> ``X``,
    README / BENCHMARKS / DEVELOPERS -> their pages, other repository files -> the link
    text in code (they are not part of the site)."""

    def fix(match: re.Match) -> str:
        bang, label, target = match.groups()
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            return match.group(0)
        path, _, anchor = target.partition("#")
        if path in PAGES:
            new = PAGES[path]
        elif path.startswith("docs/") and (docs / path[5:]).is_file():
            new = path[5:]
        else:
            return f"`{label}`" if not bang else f"({label}: `{path}`)"
        return f"{bang}[{label}]({new}{'#' + anchor if anchor else ''})"

    return LINK.sub(fix, text)
