"""`.gitignore` covers what the README's commands write (run from the repository root),
and ignores no source file."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def ignored(paths: list[str]) -> set[str]:
    """The ``paths`` that git ignores (``git check-ignore --no-index``)."""
    r = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "--no-index", *paths],
                       capture_output=True, text=True)
    return set(r.stdout.split())


@pytest.fixture(autouse=True)
def _git():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")


def test_the_readme_outputs_are_ignored():
    readme = (ROOT / "README.md").read_text()
    outs = set(re.findall(r"--out ([\w./-]+)", readme)) - {"DIR", "docs/figures"}  # tracked
    assert {"results", "runs/swiss", "sweep", "reports/resnet"} <= outs  # the README's own
    # a command's --out DIR gets files inside it (git matches folder patterns on those)
    written = [o if "." in Path(o).name else f"{o}/metrics.json" for o in sorted(outs)]
    written += ["model.pt", "data/MNIST/raw/train-images-idx3-ubyte.gz",
                              "depth-study/depth_study.md", "example1.png"]
    assert ignored(written) == set(written)


def test_no_source_file_is_ignored():
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files"], capture_output=True,
                             text=True).stdout.split()
    assert "src/stablenet/data/__init__.py" in tracked
    assert ignored(tracked) == set()
