"""``stablenet reproduce``: the paper's experiment grid, one table and the figures.

The grid is a file (:mod:`stablenet.train.grid`): by default ``configs/reproduce.toml``
(the five architectures on ellipses, swiss roll and peaks with the 2-D defaults of
``stablenet.train.defaults``, then MNIST with a convolutional Hamiltonian network when
its files are found under ``--data-root``), ``--quick`` ``configs/reproduce-quick.toml``
(every run shortened, minutes in all), ``--config FILE`` any other. Each run lands in
``OUT/<name>/`` (as ``stablenet train`` writes it; ``OUT/<name>/seed-<s>/`` with several
seeds); ``OUT/results.md`` holds the table (one row per run, the mean and spread over the
seeds; rewritten after every run, so a partial grid is kept), ``OUT/results.json`` the
numbers, ``OUT/grid.toml`` the resolved grid and ``OUT/decision_regions.png`` the
decision regions of all 2-D runs (first seed).
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from ..errors import ConfigError, DataError
from ..io import ensure_writable_dir, save_text
from ..registry import ARCHITECTURES
from ..train import TrainConfig, train
from ..train.defaults import IMAGE_DATASETS, PAPER_PROBLEMS
from ..train.figures import decision_grid, plot_run
from ..train.grid import Grid, check_seeds, grid_to_toml, read_grid
from ..train.grid_report import summarize, table
from ._common import int_list, out_path, relative, say

COMMAND = "reproduce"
HELP = "run the paper's experiments (2-D problems x architectures, MNIST) -> results.md"


def packaged_grid(quick: bool = False) -> Path:
    """The paper's grid file shipped with stablenet (``configs/`` in the repository)."""
    name = "reproduce-quick.toml" if quick else "reproduce.toml"
    return Path(str(files("stablenet") / "configs" / name))


def _names(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=out_path, default=Path("results"), help="output directory")
    p.add_argument("--config", type=Path, metavar="FILE", default=None,
                   help="the grid file to run (default: the paper's, configs/reproduce.toml)")
    p.add_argument("--quick", action="store_true", help="the paper's grid, every run "
                   "shortened (configs/reproduce-quick.toml)")
    p.add_argument("--problems", type=_names, default=None,
                   help="only the runs on these of the paper's problems (comma-separated "
                   "subset of " + ",".join(PAPER_PROBLEMS) + ")")
    p.add_argument("--archs", type=_names, default=None,
                   help="only the 2-D runs of these architectures (comma-separated subset of "
                   + ",".join(ARCHITECTURES) + ")")
    p.add_argument("--no-mnist", action="store_true", help="skip the image (MNIST) runs")
    p.add_argument("--data-root", default=None, help="folder holding MNIST/raw/")
    p.add_argument("--epochs", type=int, default=None, help="override epochs per level")
    seeds = p.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=int, default=None, help="train every run with this seed")
    seeds.add_argument("--seeds", type=int_list, default=None,
                       help="train every run once per seed, e.g. 0,1,2,3,4; the table "
                       "gives the mean and spread")
    p.add_argument("--dry-run", action="store_true",
                   help="print the resolved grid as a grid file that --config reads back, exit")
    p.add_argument("--no-plots", action="store_true", help="do not draw figures")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def resolved_grid(args: argparse.Namespace) -> Grid:
    """The grid the arguments ask for: the file, its runs selected, the flags on top."""
    if args.config is not None and args.quick:
        raise ConfigError("--quick names the paper's quick grid; with --config give the grid "
                          "file you want (or drop --config)")
    for values, names in ((args.problems, PAPER_PROBLEMS), (args.archs, ARCHITECTURES)):
        bad = [v for v in values or () if v not in names]
        if bad:
            raise ConfigError(f"unknown problem(s) or architecture(s) {bad}; problems: "
                              f"{list(PAPER_PROBLEMS)}, architectures: {list(ARCHITECTURES)}")
    grid = read_grid(args.config or packaged_grid(args.quick))
    grid = grid.select(lambda run: _wanted(run.options, args))
    if not grid.runs:
        raise ConfigError("no run of the grid is left after --problems / --archs / --no-mnist")
    if args.seeds is not None or args.seed is not None:
        grid.seeds = check_seeds(args.seeds if args.seeds is not None else [args.seed])
    return grid.with_options(epochs=args.epochs, data_root=args.data_root)


def _wanted(options: dict[str, Any], args: argparse.Namespace) -> bool:
    dataset = options["dataset"]
    if dataset in IMAGE_DATASETS:
        return not args.no_mnist
    if dataset in PAPER_PROBLEMS:
        return ((args.problems is None or dataset in args.problems)
                and (args.archs is None or options.get("arch", "hamiltonian") in args.archs))
    return True


def canonical_command(args: argparse.Namespace) -> str:
    argv = ["reproduce"] + ["--quick"] * args.quick
    for flag, value in (("--config", args.config), ("--problems", args.problems),
                        ("--archs", args.archs), ("--data-root", args.data_root),
                        ("--epochs", args.epochs), ("--seed", args.seed),
                        ("--seeds", args.seeds)):
        if value is not None:
            argv += [flag, ",".join(map(str, value)) if isinstance(value, list) else str(value)]
    argv += ["--no-mnist"] * args.no_mnist + ["--out", str(args.out)]
    return "stablenet " + shlex.join(argv)


def run(args: argparse.Namespace) -> int:
    grid = resolved_grid(args)
    command = canonical_command(args)
    if args.dry_run:
        say(grid_to_toml(grid, f"the grid of `{command}`: `stablenet reproduce --config FILE` "
                         "runs it").rstrip("\n"), args.quiet)
        return 0
    out = ensure_writable_dir(args.out)
    save_text(grid_to_toml(grid, f"the grid of `{command}`"), out / "grid.toml")
    total = len(grid.runs) * len(grid.seeds)
    rows: list[dict[str, Any]] = []
    figures, start, k = [], time.perf_counter(), 0
    for entry in grid.runs:
        per_seed: list[dict[str, Any]] = []
        for seed in grid.seeds:
            k += 1
            where = out / entry.name
            if len(grid.seeds) > 1:
                where = where / f"seed-{seed}"
            say(f"[{k}/{total}] {entry.name}" + (f" seed {seed}" if len(grid.seeds) > 1
                                                 else ""), args.quiet)
            try:
                result = train(TrainConfig(**{**entry.options, "seed": seed}), where,
                               overwrite=True, progress=not args.quiet)
            except DataError as exc:  # MNIST files absent: note it and go on
                say(f"  skipped: {exc}", args.quiet)
                rows.append({"name": entry.name, "dataset": entry.options["dataset"],
                             "arch": entry.options.get("arch", "hamiltonian"),
                             "skipped": str(exc)})
                break
            per_seed.append({**result.metrics, "seed": seed})
            if not args.no_plots:
                plot_run(where, model=result.model, split=result.split)
                if seed == grid.seeds[0] and result.metrics["model_config"][
                        "input_shape"] == [2]:
                    figures.append((entry.name, result.model, result.split))
            _write(out, rows + [summarize(entry.name, per_seed)], command,
                   time.perf_counter() - start, grid)
        if per_seed:
            rows.append(summarize(entry.name, per_seed))
    if figures:
        decision_grid(figures, out / "decision_regions.png")
    path = _write(out, rows, command, time.perf_counter() - start, grid)
    say(f"wrote {relative(path)}", args.quiet)
    return 0


def _write(out: Path, rows: list[dict[str, Any]], command: str, seconds: float,
           grid: Grid) -> Path:
    """Write ``out/results.md`` (how it was made, then one row per run) and results.json."""
    seeds = ", ".join(map(str, grid.seeds))
    several = len(grid.seeds) > 1
    lines = [
        "# stablenet reproduce: results", "",
        f"Command: `{command}` (the grid: `grid.toml`)  ",
        f"Machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}, stablenet {__version__}  ",
        f"Seeds: {seeds}  ", f"Total time: {seconds:.0f} s", "",
        "Accuracies are those of the reported model (best validation accuracy over the run, "
        "the paper's selection rule); for MNIST validation = the official test set."
        + (" Each cell: mean ± sample standard deviation over the seeds (min-max); depth: "
           "each depth chosen, with how many seeds chose it." if several else ""), "",
        "float32 kernels differ between CPUs (instruction sets, thread counts), so a run on "
        "another machine differs in the last digits and sometimes in the model it selects.",
        "", *table(rows),
    ]
    save_text(json.dumps({"command": command, "seeds": grid.seeds, "seconds": seconds,
                          "rows": rows}, indent=1) + "\n", out / "results.json")
    return save_text("\n".join(lines) + "\n", out / "results.md")
