"""``stablenet depth-study``: train every architecture with one configuration at N = 16 ... 4096.

The paper's claim (well-posed learning for arbitrarily deep networks) as an experiment on
its 2-D problems: a table at fixed T (finer and finer discretisations of one ODE) and one
at fixed h (T = N h grows). Writes ``OUT/depth_study.md`` and ``.json`` (rewritten after
every run, so a cut-short study keeps its rows), ``OUT/depth_study_<table>.png`` and every
run's directory ``OUT/<table>/<problem>-<arch>-N<depth>/``. See
:mod:`stablenet.train.depth_study` for what is measured.
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import time
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from ..checks import choice, nonnegative_real, positive_int, positive_real
from ..io import ensure_writable_dir, save_text
from ..registry import ARCHITECTURES
from ..schemes import FIRST_ORDER_INTEGRATORS
from ..train.defaults import DEFAULTS_2D, PAPER_PROBLEMS
from ..train.depth_report import figures, markdown
from ..train.depth_study import DEPTHS, QUICK_DEPTHS, TABLES, run_study
from ._common import (
    add_settings_arguments,
    int_list,
    out_path,
    print_settings,
    relative,
    say,
    with_settings_file,
)

COMMAND = "depth-study"
HELP = ("train every architecture with one fixed configuration at depths 16 ... 4096 (fixed T "
        "and fixed h): accuracy, time, gradient ratio, weight convergence vs N")



def _names(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=out_path, default=Path("depth-study"), help="output directory")
    p.add_argument("--problems", type=_names, default=list(PAPER_PROBLEMS),
                   help="comma-separated subset of " + ",".join(PAPER_PROBLEMS))
    p.add_argument("--archs", type=_names, default=list(ARCHITECTURES),
                   help="comma-separated subset of " + ",".join(ARCHITECTURES))
    p.add_argument("--depths", type=int_list, default=list(DEPTHS),
                   help="comma-separated depths (default " + ",".join(map(str, DEPTHS)) + ")")
    p.add_argument("--tables", type=_names, default=list(TABLES),
                   help="fixed-T, fixed-h or both (default both)")
    p.add_argument("--T", type=float, default=DEFAULTS_2D["T"],
                   help=f"final time of the fixed-T table (default {DEFAULTS_2D['T']:g})")
    p.add_argument("--h", type=float, default=None,
                   help="step of the fixed-h table (default T / 64)")
    p.add_argument("--optimizer", default=None, help="optimizer of every run (default: the "
                   "2-D default)")
    p.add_argument("--epochs", type=int, default=None, help="epochs of every run")
    p.add_argument("--gamma", type=float, default=None, help="damping of the antisymmetric "
                   "runs (default: stablenet train's)")
    p.add_argument("--integrator", choices=FIRST_ORDER_INTEGRATORS, default=None,
                   help="integrator of the antisymmetric runs (default: stablenet train's, "
                   "midpoint; the paper's network: --integrator euler)")
    p.add_argument("--seed", type=int, default=0, help="random seed of every run")
    p.add_argument("--limit-train", type=int, default=None, metavar="N",
                   help="train every run on a seeded random subset of N training points")
    p.add_argument("--quick", action="store_true", help="depths 16, 64, 256 only")
    p.add_argument("--no-plots", action="store_true", help="do not draw figures")
    p.add_argument("--quiet", action="store_true", help="only the summary lines")
    add_settings_arguments(p)


def settings(args: argparse.Namespace) -> tuple[list[int], float, dict[str, Any]]:
    """(depths, h, shared TrainConfig options) of the arguments, checked."""
    for what, flag, values, table in (("problem", "--problems", args.problems, PAPER_PROBLEMS),
                                      ("architecture", "--archs", args.archs, ARCHITECTURES),
                                      ("table", "--tables", args.tables, TABLES)):
        for value in values:
            choice(what, value, table, flag)
    depths = sorted(set(QUICK_DEPTHS if args.quick else args.depths))
    for depth in depths:
        positive_int("--depths entries", depth)
    positive_real("--T (the final time)", args.T)
    h = positive_real("--h (the step size)", args.h) if args.h is not None else args.T / 64
    options: dict[str, Any] = {"seed": args.seed, "threads": 1}
    if args.optimizer is not None:
        options["optimizer"] = args.optimizer
    if args.epochs is not None:
        options["epochs"] = args.epochs
    if args.gamma is not None:
        options["gamma"] = nonnegative_real("--gamma", args.gamma)
    if args.integrator is not None:
        options["integrator"] = args.integrator
    if args.limit_train is not None:
        options["limit_train"] = positive_int("--limit-train", args.limit_train)
    return depths, h, options


def canonical_command(args: argparse.Namespace, depths: list[int], h: float) -> str:
    argv = [COMMAND, "--out", str(args.out), "--problems", ",".join(args.problems),
            "--archs", ",".join(args.archs), "--depths", ",".join(map(str, depths)),
            "--tables", ",".join(args.tables), "--T", f"{args.T:g}", "--h", f"{h:g}",
            "--seed", str(args.seed)]
    if args.optimizer:
        argv += ["--optimizer", args.optimizer]
    if args.epochs is not None:
        argv += ["--epochs", str(args.epochs)]
    if args.gamma is not None:
        argv += ["--gamma", f"{args.gamma:g}"]
    if args.integrator is not None:
        argv += ["--integrator", args.integrator]
    if args.limit_train is not None:
        argv += ["--limit-train", str(args.limit_train)]
    return "stablenet " + shlex.join(argv)


def run(args: argparse.Namespace) -> int:
    args = with_settings_file(args)
    depths, h, options = settings(args)
    if args.dry_run:
        print_settings({"problems": args.problems, "archs": args.archs, "depths": depths,
                        "tables": args.tables, "T": args.T, "h": h,
                        "optimizer": args.optimizer, "epochs": args.epochs, "gamma": args.gamma,
                        "integrator": args.integrator, "seed": args.seed,
                        "limit_train": args.limit_train},
                       COMMAND, args.quiet)
        return 0
    out = ensure_writable_dir(args.out)
    rows: list[dict[str, Any]] = []
    done: list[Any] = []  # the StudyRuns so far (a coarse run's 4N distance arrives later)
    start = time.perf_counter()
    header = "\n".join([
        "# stablenet depth-study", "",
        f"Command: `{canonical_command(args, depths, h)}`  ",
        f"Machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}, stablenet {__version__}, one torch thread per run",
    ])

    def report(run) -> None:
        done.append(run)
        rows[:] = [r.row() for r in done]
        what = (f"diverged ({run.diverged})" if run.diverged else
                f"val {100 * run.val_accuracy:.1f}%, gradient ratio {run.gradient_ratio:.3g}")
        say(f"{run.table} {run.problem} {run.arch} N={run.depth}: {what}, {run.seconds:.1f} s",
            False)
        text = header + f"  \nTotal time so far: {time.perf_counter() - start:.0f} s\n"
        save_text(markdown(rows, text), out / "depth_study.md")
        save_text(json.dumps(rows, indent=1) + "\n", out / "depth_study.json")

    # report() keeps the rows up to date, 4N distances included
    run_study(args.problems, args.archs, depths, args.tables, args.T, h, options, out,
              report, progress=not args.quiet)
    text = header + f"  \nTotal time: {time.perf_counter() - start:.0f} s\n"
    save_text(markdown(rows, text), out / "depth_study.md")
    save_text(json.dumps(rows, indent=1) + "\n", out / "depth_study.json")
    if not args.no_plots and rows:
        for path in figures(rows, out):
            say(f"wrote {relative(path)}", args.quiet)
    say(f"wrote {relative(out / 'depth_study.md')}", args.quiet)
    return 0

