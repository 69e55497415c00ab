"""Where training leaves the antisymmetric network: forward Euler's margins against depth.

For each problem and depth N: ``stablenet train --dataset P --arch antisymmetric --depth N
--integrator euler`` (the paper's forward Euler; every other option at its default), then
the stability margins of ``stablenet analyze`` (at the weights and at the Jacobians of 8
validation points) and the growth bound prod_j max(1, |1 + h lambda_j|) over the block
that its warning prints. With ``--prolong`` the network trained at the first depth is
also refined (prolonged in time) by each factor and evaluated without retraining: does a
deeper discretisation of the trained weights keep their function? ``--integrator
midpoint`` measures the training default instead. docs/depth.md, "Why training
integrates the antisymmetric network by the midpoint rule", holds the results.

    python benchmarks/antisymmetric_edge.py                       # 3 problems x 64, 256, 1024
    python benchmarks/antisymmetric_edge.py --depths 64 --prolong 2,8,32
"""

from __future__ import annotations

import argparse
import copy
import time
import warnings

import torch

from stablenet.analysis.margins import BlockMargins, stability_margins
from stablenet.objective import evaluate
from stablenet.train import TrainConfig, train
from stablenet.train.multilevel import prolong_model


def margins(model: torch.nn.Module, x: torch.Tensor | None) -> BlockMargins:
    result = stability_margins(model, x)
    return result[0] if isinstance(result, list) else result


def cell(m: BlockMargins) -> str:
    growth = float(torch.prod(1.0 - m.margins.double().clamp(max=0.0)))
    return f"{m.min_margin:+.2g}" + (f" ({growth:.3g}x)" if growth > 1.0 else "")


def row(problem: str, depth: int | str, acc: float, seconds: float | None, model, x) -> str:
    took = "-" if seconds is None else f"{seconds:.1f} s"
    return (f"| {problem} | {depth} | {100 * acc:.1f}% | {took} | {cell(margins(model, None))} "
            f"| {cell(margins(model, x))} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", default="ellipses,swissroll,peaks")
    parser.add_argument("--depths", default="64,256,1024")
    parser.add_argument("--prolong", default="", help="factors, e.g. 2,8,32 (first depth)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--integrator", default="euler", help="euler (default) or midpoint")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", RuntimeWarning)
    print("| problem | N | validation | train time | margin, weights (growth) "
          "| margin, data (growth) |\n|---|---|---|---|---|---|")
    for problem in args.problems.split(","):
        for k, depth in enumerate(int(d) for d in args.depths.split(",")):
            start = time.perf_counter()
            result = train(TrainConfig(dataset=problem, arch="antisymmetric", depth=depth,
                                       seed=args.seed, integrator=args.integrator))
            seconds = time.perf_counter() - start
            model, data = result.model.double(), result.split.to(dtype=torch.float64)
            x = data.x_val[:8]
            print(row(problem, depth, result.metrics["best_val_accuracy"], seconds, model, x),
                  flush=True)
            for factor in (int(f) for f in args.prolong.split(",") if f and k == 0):
                fine = prolong_model(copy.deepcopy(model), factor)  # in place: a copy
                acc = evaluate(fine, data.x_val, data.y_val).accuracy
                print(row(problem, f"{fine.blocks[0].depth} (prolonged)", acc, None, fine, x),
                      flush=True)

if __name__ == "__main__":
    main()
