"""float32 rounding of the two forms of the leapfrog step, over seeds.

``2.0 * y - y_prev`` (two kernels, one rounding: 2 y is exact) against
``lerp(y_prev, y, 2)`` = y + (y - y_prev) (one kernel; one rounding where y and y_prev are
within a factor 2 of each other, two elsewhere). For each seed: a float32 leapfrog block
(width 64, batch 64, feature bias, T = h N, loss mean(y_N^2)) and the relative error of its
gradients (dL/dx, dL/dK, dL/db) against float64 ordinary autograd of the same weights, in
store mode and, with ``--reversible``, unguarded and guarded reversible mode.

    python benchmarks/leapfrog_rounding.py 1024 0.05 --seeds 12
    python benchmarks/leapfrog_rounding.py 4096 0.05 --seeds 8 --reversible
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import speed_ab  # noqa: E402

import memory  # noqa: E402
import stablenet as sn  # noqa: E402
from stablenet.integrators import Leapfrog  # noqa: E402

FORMS = {"2y-y_prev": speed_ab.leapfrog_mul_sub, "lerp": Leapfrog.step}
MODES = {"store": ("store", memory.DRIFT_TOL), "unguarded": ("reversible", float("inf")),
         "guarded": ("reversible", memory.DRIFT_TOL)}


def errors(depth: int, h: float, seed: int, modes: list[str]) -> dict[str, dict[str, float]]:
    torch.manual_seed(seed)
    block = sn.build_block("leapfrog", 64, depth, h * depth, bias="feature")
    x = torch.randn(64, 64)
    ref = memory._grad(block.double(), x.double(), "store", memory.DRIFT_TOL)
    block.float()
    out = {}
    try:
        for form, step in FORMS.items():
            Leapfrog.step = step
            out[form] = {m: float((memory._grad(block, x, *MODES[m]) - ref).norm() / ref.norm())
                         for m in modes}
    finally:
        Leapfrog.step = FORMS["lerp"]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("depth", type=int)
    p.add_argument("h", type=float)
    p.add_argument("--seeds", type=int, default=8)
    p.add_argument("--reversible", action="store_true", help="also the reversible modes")
    args = p.parse_args()
    torch.set_num_threads(1)
    modes = list(MODES) if args.reversible else ["store"]
    runs = [errors(args.depth, args.h, seed, modes) for seed in range(args.seeds)]
    print(f"leapfrog, width 64, N = {args.depth}, h = {args.h}, {args.seeds} seeds: "
          "median relative gradient error (lerp lower in k of seeds)\n")
    print("| mode | 2y-y_prev | lerp | lerp lower |\n|---|---|---|---|")
    for m in modes:
        a = [r["2y-y_prev"][m] for r in runs]
        b = [r["lerp"][m] for r in runs]
        lower = sum(y < x for x, y in zip(a, b, strict=True))
        print(f"| {m} | {statistics.median(a):.2e} | {statistics.median(b):.2e} | "
              f"{lower} of {len(a)} |")


if __name__ == "__main__":
    main()
