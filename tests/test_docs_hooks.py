"""The documentation build's generated pages (docs/hooks.py): the CLI reference covers
every command with its flags, and repository links are rewritten to valid site links."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def hooks():
    spec = importlib.util.spec_from_file_location("stablenet_docs_hooks", ROOT / "docs/hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_has_every_command_and_flag(hooks):
    from stablenet.cli import build_parser

    page = hooks.cli_reference()
    sub = next(a for a in build_parser()._actions if hasattr(a, "choices") and a.choices
               and "train" in a.choices)
    for name, parser in sub.choices.items():
        assert f"## stablenet {name}\n" in page
        section = page.split(f"## stablenet {name}\n", 1)[1].split("\n## ", 1)[0]
        for action in parser._actions:
            for flag in action.option_strings:
                if action.help != "==SUPPRESS==":
                    assert flag in section, (name, flag)


def test_repository_links_become_site_links(hooks):
    text = ("see [theory](docs/theory.md#2-stability), [bench](BENCHMARKS.md), "
            "[the script](benchmarks/speed.py), ![fig](docs/figures/memory.png), "
            "[web](https://pytorch.org), [here](#usage), [raw](docs/benchmarks/)")
    out = hooks.site_links(text, ROOT / "docs")
    assert out == ("see [theory](theory.md#2-stability), [bench](benchmarks.md), "
                   "`the script`, ![fig](figures/memory.png), [web](https://pytorch.org), "
                   "[here](#usage), `raw`")
