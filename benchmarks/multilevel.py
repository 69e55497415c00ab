"""Multilevel training against direct training at the finest depth: time to an accuracy.

A direct run trains N_max layers from the start; a multilevel run trains N_min layers,
prolongs to 2N (piecewise-linear in time), trains, ... up to N_max (the paper's coarse to
fine in depth). Both use the same settings (the problem's defaults, ``stablenet train``),
the same seed and one torch thread; ``--epochs`` gives the epochs per level as the CLI
does (``30,3``: 30 at the first level, 3 at each finer one; one number: every level, and
the direct run gets the first number). The target accuracy is the best validation
accuracy of the direct run (or ``--target``); each run's time to the target is read from
its per-epoch history (seconds since the start, including the validation passes) and
counts only epochs *at the final depth*: a multilevel run is credited with the first
epoch at which its N_max-layer network reaches the target, as if it had been stopped
there (its coarse levels reaching it earlier do not count). Medians over ``--repeats``
repeats.

    python benchmarks/multilevel.py --epochs 30,3       # swiss roll, hamiltonian, 16 -> 1024
    python benchmarks/multilevel.py --problem peaks --arch leapfrog --coarse 64 --fine 1024
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from stablenet.train import TrainConfig, defaults_for, train  # noqa: E402


def time_to(history: list[dict], target: float, depth: int) -> float:
    """Seconds until the validation accuracy of the ``depth``-layer network first reaches
    ``target`` (inf if never)."""
    for r in history:
        if r["depth"] == depth and r["val_accuracy"] >= target - 1e-12:
            return float(r["seconds"])
    return math.inf


def run(problem: str, arch: str, depth: int, levels: int, epochs: list[int],
        seed: int) -> dict:
    config = TrainConfig(dataset=problem, arch=arch, depth=depth, levels=levels, epochs=epochs,
                         seed=seed, threads=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = train(config).metrics
    return {"best": m["best_val_accuracy"], "seconds": m["seconds"], "history": m["history"]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--problem", default="swissroll")
    p.add_argument("--arch", default="hamiltonian")
    p.add_argument("--coarse", type=int, default=16, help="first depth of the multilevel run")
    p.add_argument("--fine", type=int, default=1024, help="the direct run's depth (2^k coarse)")
    p.add_argument("--epochs", default=None, help="epochs per level, e.g. 30,3 (default: the "
                   "problem's default at every level)")
    p.add_argument("--target", type=float, default=None, help="accuracy to reach (default: the "
                   "direct run's best)")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--markdown", type=Path, default=None, help="also write the report here")
    args = p.parse_args(argv)
    levels = round(math.log2(args.fine / args.coarse)) + 1
    if args.coarse * 2 ** (levels - 1) != args.fine:
        p.error("--fine must be --coarse times a power of two")
    torch.set_num_threads(1)
    epochs = ([int(e) for e in args.epochs.split(",")] if args.epochs else
              [defaults_for(args.problem, False, 2)["epochs"]])
    per_level = (epochs + epochs[-1:] * levels)[:levels]
    rows = []
    for _ in range(args.repeats):
        direct = run(args.problem, args.arch, args.fine, 1, epochs[:1], args.seed)
        multi = run(args.problem, args.arch, args.coarse, levels, per_level, args.seed)
        target = args.target if args.target is not None else direct["best"]
        rows.append((target, time_to(direct["history"], target, args.fine), direct["seconds"],
                     time_to(multi["history"], target, args.fine), multi["seconds"],
                     multi["best"]))
    med = [statistics.median(r[i] for r in rows) for i in range(6)]
    command = "python benchmarks/multilevel.py " + " ".join(argv if argv is not None else
                                                             sys.argv[1:])
    lines = [
        "## Multilevel against direct training", "",
        f"Command: `{command}`  ",
        f"Machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}, one thread; medians of {args.repeats} repeat(s)", "",
        f"{args.problem}, {args.arch}: direct N = {args.fine} against multilevel "
        f"{args.coarse} -> {args.fine} ({levels} levels), epochs per level "
        f"{','.join(map(str, per_level))}; direct: {epochs[0]} epochs.", "",
        "| run | time to target (s) | total time (s) | best val acc |", "|---|---|---|---|",
        f"| direct N = {args.fine} | {med[1]:.1f} | {med[2]:.1f} | {100 * med[0]:.2f}% "
        "(the target) |",
        f"| multilevel {args.coarse} -> {args.fine} | {med[3]:.1f} | {med[4]:.1f} | "
        f"{100 * med[5]:.2f}% |",
        "", f"Multilevel / direct time to the target at N = {args.fine}: "
        f"{med[3] / med[1]:.2f}x; total time: {med[4] / med[2]:.2f}x",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown is not None:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
