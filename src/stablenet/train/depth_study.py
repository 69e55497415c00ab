"""The paper's claim as a training experiment: one configuration trained at every depth.

Every architecture is trained with the same options (the problem's defaults, one level)
at depths N = 16, 64, 256, 1024, 4096, in two tables:

* **fixed T**: h = T / N shrinks, so the networks are finer and finer discretisations of
  one ODE on [0, T];
* **fixed h**: T = N h grows with the depth (the classic "deeper network" of a ResNet).

Per run it records the best validation accuracy (the paper's selection rule), the training
time, the gradient ratio ||dL/dY_0|| / ||dL/dY_N|| of the trained network at the
validation data (cross-entropy loss; >> 1 exploding, << 1 vanishing), and, between the
weights trained at N and at 4N, their relative distance in L2(0, T) at the common layer
times t_j = j T / N: sqrt(sum_j |theta^N_j - theta^{4N}_{4j}|^2) / sqrt(sum_j
|theta^{4N}_{4j}|^2) over K and b of every block (fixed T only: at fixed h the two networks
live on different intervals). If training converges to a continuum limit this distance
goes to 0 as N grows. A run whose training diverges (an unstable network at large T, say)
is a result, not an error: it is recorded with ``diverged`` (the reason) and no accuracy,
and the study goes on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..analysis import gradient_norms
from ..errors import ConfigError
from .api import train
from .config import TrainConfig
from .divergence import DivergenceError

DEPTHS = (16, 64, 256, 1024, 4096)
QUICK_DEPTHS = (16, 64, 256)
TABLES = ("fixed-T", "fixed-h")


@dataclass
class StudyRun:
    """One trained network of the study."""

    table: str
    problem: str
    arch: str
    depth: int
    T: float
    val_accuracy: float | None  # None: the training diverged
    train_accuracy: float | None
    seconds: float
    gradient_ratio: float | None
    distance_to_4n: float | None = None  # filled when the 4N run exists (fixed T)
    diverged: str | None = None  # why the training diverged (the first sentence)
    model: nn.Module | None = field(default=None, repr=False)

    def row(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "model"}


def gradient_ratio(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """||dL/dY_0|| / ||dL/dY_N|| of the first block for the mean cross-entropy at (x, y)."""
    g = gradient_norms(model, x, labels=y)[0].states
    return float(g[0] / g[-1]) if float(g[-1]) > 0 else math.inf


def weight_distance(coarse: nn.Module, fine: nn.Module) -> float:
    """Relative L2(0, T) distance of the blocks' weights at the coarse layer times."""
    num = den = 0.0
    for bc, bf in zip(coarse.blocks, fine.blocks, strict=True):
        step = bf.depth // bc.depth
        for pc, pf in ((bc.K, bf.K), (bc.b, bf.b)):
            sampled = pf.detach()[::step].double()
            num += float((pc.detach().double() - sampled).pow(2).sum())
            den += float(sampled.pow(2).sum())
    return math.sqrt(num / den) if den > 0 else math.nan


def run_study(
    problems: list[str], archs: list[str], depths: list[int], tables: list[str], T: float,
    h: float, options: dict[str, Any], out: Path | None = None,
    report: Callable[[StudyRun], None] | None = None, progress: bool = False,
) -> list[StudyRun]:
    """Train every (table, problem, arch, depth); ``options`` are TrainConfig overrides shared
    by all runs (``levels`` is forced to 1). ``report(run)`` is called after each run."""
    bad = [t for t in tables if t not in TABLES]
    if bad:
        raise ConfigError(f"unknown table(s) {bad}; choose from {list(TABLES)}")
    runs: list[StudyRun] = []
    for table in tables:
        for problem in problems:
            for arch in archs:
                by_depth: dict[int, StudyRun] = {}
                for depth in sorted(depths):
                    t_final = T if table == "fixed-T" else depth * h
                    run = _one(table, problem, arch, depth, t_final, options, out, progress)
                    by_depth[depth] = run
                    coarse = by_depth.get(depth // 4) if depth % 4 == 0 else None
                    if table == "fixed-T" and coarse is not None and None not in (
                            coarse.model, run.model):
                        coarse.distance_to_4n = weight_distance(coarse.model, run.model)
                        coarse.model = None  # no longer needed
                    runs.append(run)
                    if report is not None:
                        report(run)
                for run in by_depth.values():
                    run.model = None
    return runs


def _one(table: str, problem: str, arch: str, depth: int, T: float, options: dict[str, Any],
         out: Path | None, progress: bool) -> StudyRun:
    if arch != "antisymmetric":  # --integrator is the antisymmetric runs' (like --gamma)
        options = {k: v for k, v in options.items() if k != "integrator"}
    config = TrainConfig(**{**options, "dataset": problem, "arch": arch, "depth": depth,
                            "T": T, "levels": 1})
    run_dir = None if out is None else out / table / f"{problem}-{arch}-N{depth}"
    start = time.perf_counter()
    try:
        result = train(config, run_dir, overwrite=True, progress=progress)
    except DivergenceError as err:
        reason = str(err).split(": ", 1)[-1].split("; ")[0]  # "the gradient norm is inf"
        return StudyRun(table=table, problem=problem, arch=arch, depth=depth, T=T,
                        val_accuracy=None, train_accuracy=None,
                        seconds=time.perf_counter() - start, gradient_ratio=None,
                        diverged=reason)
    seconds = time.perf_counter() - start
    m, data = result.metrics, result.split  # the data the run trained on
    x_val, y_val = data.x_val.to(torch.float64), data.y_val
    return StudyRun(
        table=table, problem=problem, arch=arch, depth=depth, T=T,
        val_accuracy=m["best_val_accuracy"], train_accuracy=m["best_train_accuracy"],
        seconds=seconds, gradient_ratio=gradient_ratio(result.model, x_val[:512], y_val[:512]),
        model=result.model,
    )
