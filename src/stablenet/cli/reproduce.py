"""``stablenet reproduce``: the paper's experiment grid, one table and the figures.

The five architectures on ellipses, swiss roll and peaks with the 2-D defaults of
``stablenet.train.defaults`` (the authors' tanh, alpha and beta; T = 10, 64 layers,
L-BFGS), then MNIST with a convolutional Hamiltonian network when its files are found
under ``--data-root``.
Each run lands in ``OUT/<problem>-<arch>/`` (as ``stablenet train`` writes it);
``OUT/results.md`` holds the table (rewritten after every run, so a partial grid is
kept) and ``OUT/decision_regions.png`` the decision regions of all 2-D runs.
``--quick`` shrinks every run (fewer epochs, an MNIST subset) to finish in minutes.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from ..errors import ConfigError, DataError
from ..io import ensure_writable_dir, save_text
from ..registry import ARCHITECTURES
from ..train import TrainConfig, train
from ..train.defaults import PAPER_PROBLEMS
from ..train.figures import decision_grid, plot_run
from ._common import plain_warnings, relative, say

COMMAND = "reproduce"
HELP = "run the paper's experiments (2-D problems x architectures, MNIST) -> results.md"

#: overrides of the 2-D defaults in --quick mode
QUICK_2D: dict[str, Any] = dict(epochs=10)
#: the MNIST experiment (full / quick); the rest comes from the image defaults. One torch
#: thread: on a 2-core machine shared with anything else, two threads ran up to 10x slower.
MNIST_FULL: dict[str, Any] = dict(arch="hamiltonian", threads=1)
MNIST_QUICK: dict[str, Any] = dict(arch="hamiltonian", channels=[8, 16, 32], epochs=1,
                                   limit_train=20000, limit_val=2000, threads=1)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=Path("results"), help="output directory")
    p.add_argument("--quick", action="store_true", help="a small version of every run")
    p.add_argument("--problems", type=lambda s: s.split(","), default=list(PAPER_PROBLEMS),
                   help="comma-separated subset of " + ",".join(PAPER_PROBLEMS))
    p.add_argument("--archs", type=lambda s: s.split(","), default=list(ARCHITECTURES),
                   help="comma-separated subset of " + ",".join(ARCHITECTURES))
    p.add_argument("--no-mnist", action="store_true", help="skip the MNIST experiment")
    p.add_argument("--data-root", default=None, help="folder holding MNIST/raw/")
    p.add_argument("--epochs", type=int, default=None, help="override epochs per level")
    p.add_argument("--seed", type=int, default=0, help="random seed of every run")
    p.add_argument("--no-plots", action="store_true", help="do not draw figures")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def experiments(args: argparse.Namespace) -> list[tuple[str, dict[str, Any]]]:
    """(run name, TrainConfig options) of the grid the arguments ask for."""
    bad = [p for p in args.problems if p not in PAPER_PROBLEMS]
    bad += [a for a in args.archs if a not in ARCHITECTURES]
    if bad:
        raise ConfigError(f"unknown problem(s) or architecture(s) {bad}; problems: "
                          f"{list(PAPER_PROBLEMS)}, architectures: {list(ARCHITECTURES)}")
    runs = []
    for problem in args.problems:
        for arch in args.archs:
            opts = dict(dataset=problem, arch=arch, seed=args.seed, **(QUICK_2D if args.quick
                                                                        else {}))
            runs.append((f"{problem}-{arch}", opts))
    if not args.no_mnist:
        opts = dict(dataset="mnist", data_root=args.data_root, seed=args.seed,
                    **(MNIST_QUICK if args.quick else MNIST_FULL))
        runs.append(("mnist-" + opts["arch"], opts))
    if args.epochs is not None:
        for _, opts in runs:
            opts["epochs"] = args.epochs
    return runs


def run(args: argparse.Namespace) -> int:
    out = ensure_writable_dir(args.out)
    runs, rows, figures, start = experiments(args), [], [], time.perf_counter()
    with plain_warnings():
        for i, (name, opts) in enumerate(runs, 1):
            say(f"[{i}/{len(runs)}] {name}", args.quiet)
            try:
                result = train(TrainConfig(**opts), out / name, overwrite=True,
                               progress=not args.quiet)
            except DataError as exc:  # MNIST files absent: note it and go on
                rows.append({"name": name, "skipped": str(exc)})
                say(f"  skipped: {exc}", args.quiet)
                continue
            rows.append({"name": name, **result.metrics})
            if not args.no_plots:
                plot_run(out / name, model=result.model, split=result.split)
                if result.metrics["model_config"]["input_shape"] == [2]:
                    figures.append((name, result.model, result.split))
            write_results(out, rows, args, time.perf_counter() - start)
    if figures:
        decision_grid(figures, out / "decision_regions.png")
    path = write_results(out, rows, args, time.perf_counter() - start)
    say(f"wrote {relative(path)}", args.quiet)
    return 0


def write_results(out: Path, rows: list[dict[str, Any]], args: argparse.Namespace,
                  seconds: float) -> Path:
    """Write ``out/results.md``: how it was made, then one row per run."""
    command = "stablenet reproduce" + (" --quick" if args.quick else "") + f" --out {args.out}"
    lines = [
        "# stablenet reproduce: results", "",
        f"Command: `{command}`  ",
        f"Machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}, stablenet {__version__}  ",
        f"Total time: {seconds:.0f} s", "",
        "Accuracies are those of the reported model (best validation accuracy over the run, "
        "the paper's selection rule); for MNIST validation = the official test set.", "",
        "| problem | architecture | depth (levels) | parameters | train acc | val acc | "
        "time (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        problem, arch = r["name"].split("-", 1)
        if "skipped" in r:
            lines.append(f"| {problem} | {arch} | - | - | - | - | skipped: data not found |")
            continue
        c = r["config"]
        lines.append(
            f"| {problem} | {arch} | {_depth(r['depth'])} ({c['levels']}) | {r['n_parameters']} "
            f"| {100 * r['best_train_accuracy']:.2f}% | {100 * r['best_val_accuracy']:.2f}% "
            f"| {r['seconds']:.0f} |"
        )
    return save_text("\n".join(lines) + "\n", out / "results.md")


def _depth(depth: Any) -> str:
    return "+".join(str(d) for d in depth) if isinstance(depth, list) else str(depth)
