"""L-BFGS iterations to a fixed objective against the depth, per metric (no timing).

The stepper of ``stablenet train --optimizer lbfgs`` (strong-Wolfe L-BFGS, history 20) on
the objective of ``stablenet train`` (mean cross-entropy + alpha time smoothness + beta
weight decay), in float64, counting iterations in steps of ``--max-iter`` until the
objective falls below each target. In the Sobolev metric the count should not grow with N.

    python benchmarks/mesh_independence.py                    # ellipses, hamiltonian, T = 5
    python benchmarks/mesh_independence.py --depths 8 2048 --metrics sobolev euclidean
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import stablenet as sn  # noqa: E402
from stablenet.data import ellipses  # noqa: E402
from stablenet.train.config import TrainConfig  # noqa: E402
from stablenet.train.optimizers import make_stepper  # noqa: E402


def counts(arch: str, depth: int, T: float, metric: str, targets: list[float], per_class: int,
           max_iter: int, steps: int) -> dict[float, float]:
    torch.manual_seed(0)
    data = ellipses(n_train=per_class, n_val=1)
    x, y = data.x_train.double(), data.y_train
    model = sn.build_model(arch, (2,), 2, width=4, depth=depth, T=T).double()
    config = TrainConfig(optimizer="lbfgs", lr=1.0, alpha=5e-3, beta=1e-3, metric=metric)
    stepper = make_stepper(config, model)
    opt = stepper.optimizer
    opt.param_groups[0]["max_iter"] = max_iter
    found: dict[float, float] = {t: math.inf for t in targets}
    for _ in range(steps):
        before = opt.state[opt._params[0]].get("n_iter", 0)  # iterations so far
        loss = stepper.step(model, x, y)["loss"]  # the objective before this step
        for t in targets:
            if loss < t and found[t] == math.inf:
                found[t] = before
        if all(v < math.inf for v in found.values()):
            break
    return found


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", default="hamiltonian")
    p.add_argument("--T", type=float, default=5.0)
    p.add_argument("--depths", type=int, nargs="+", default=[8, 32, 128, 512])
    p.add_argument("--metrics", nargs="+", default=["sobolev", "l2", "euclidean"])
    p.add_argument("--targets", type=float, nargs="+", default=[0.3, 0.1])
    p.add_argument("--per-class", type=int, default=150, help="training points per class")
    p.add_argument("--max-iter", type=int, default=5, help="iterations per optimizer step")
    p.add_argument("--steps", type=int, default=60, help="optimizer steps at most")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    command = "python benchmarks/mesh_independence.py " + " ".join(
        argv if argv is not None else sys.argv[1:])
    print(f"Command: `{command}`  \nMachine: {platform.platform()}, torch {torch.__version__}\n")
    print(f"{args.arch}, T = {args.T:g}, ellipses ({2 * args.per_class} points): L-BFGS "
          f"iterations until the objective < target (steps of {args.max_iter}; "
          f"at most {args.steps * args.max_iter})\n")
    print("| metric | target | " + " | ".join(f"N = {d}" for d in args.depths) + " |")
    print("|---|---|" + "---|" * len(args.depths))
    for metric in args.metrics:
        rows = {t: [] for t in args.targets}
        for depth in args.depths:
            for t, n in counts(args.arch, depth, args.T, metric, args.targets, args.per_class,
                               args.max_iter, args.steps).items():
                rows[t].append("-" if n == math.inf else str(int(n)))
        for t in args.targets:
            print(f"| {metric} | {t:g} | " + " | ".join(rows[t]) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
