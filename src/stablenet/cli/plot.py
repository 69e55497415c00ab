"""``stablenet plot RUN_DIR``: (re)draw the figures of a finished training run."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..train.figures import plot_run
from ._common import relative, say

COMMAND = "plot"
HELP = "draw the figures of a training run (decision regions, trajectories, curves)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR",
                   help="a directory written by `stablenet train --out RUN_DIR`")
    p.add_argument("--data-root", default=None, help="where the run's MNIST data lives, if moved")
    p.add_argument("--quiet", action="store_true", help="print nothing")


def run(args: argparse.Namespace) -> int:
    paths = plot_run(args.run_dir, data_root=args.data_root)
    for path in paths:
        say(f"wrote {relative(path)}", args.quiet)
    return 0
