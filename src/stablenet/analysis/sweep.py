"""The depth sweep: the paper's claim (Haber & Ruthotto 2018; docs/theory.md 2) as an experiment.

For depths N at a fixed step h (so T = N h grows with N), every architecture starts from
the same random weights, entries i.i.d. N(0, 1 / width) (the library's default scale),
and the same inputs Y_0 (rows i.i.d. N(0, I)); b = 0; the antisymmetric network has the
authors' damping gamma = 2e-4 (the library's default 2 / T would shrink with T = N h here).
Per (regime, architecture, seed, depth) it measures

* ``grad_ratio`` = ||dL/dY_0|| / ||dL/dY_N|| for L = <Y_N, r>, r a fixed random unit tensor
  (:func:`~stablenet.analysis.gradients.gradient_norms`);
* ``sens_worst`` = max over samples of the largest singular value of dY_N/dY_0 and
  ``sens_random`` = ||Y_N(x + delta) - Y_N(x)|| / ||delta|| (mean over random delta)
  (:func:`~stablenet.analysis.sensitivity.sensitivity`);

in four regimes: ``identity`` (sigma = identity, weights constant in time: the linear
theory is exact), ``identity-varying`` (sigma = identity, K_j drawn independently per
layer: a product of random matrices, the linear baseline of the next one),
``tanh-constant`` (K_j = K for all j) and ``tanh-varying`` (K_j independent per layer).
Depths are nested: the network of depth N is the first N layers of the deepest one.
For the identity regime it also records the linear predictions: ``rho^N`` (rho the
spectral radius of the one-step matrix, :mod:`.steps`) and the continuous one,
exp(max Re(lambda) T) over the eigenvalues of the weight operator.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from ..blocks import StableBlock
from ..layers import PAPER_GAMMA
from ..registry import ARCHITECTURES, build_block
from .gradients import block_gradient_norms
from .network import analysis_copy
from .sensitivity import EXACT_MAX, block_sensitivity
from .spectra import block_spectrum
from .steps import spectral_radius, step_matrix

# regime -> (activation, weights constant in time?)
REGIMES: dict[str, tuple[str, bool]] = {
    "identity": ("identity", True),
    "identity-varying": ("identity", False),
    "tanh-constant": ("tanh", True),
    "tanh-varying": ("tanh", False),
}
DEFAULT_DEPTHS = (8, 16, 32, 64, 128, 256, 512, 1024, 2048)
QUICK_DEPTHS = (8, 16, 32)


def sweep_bytes(depth: int, width: int, samples: int) -> int:
    """A lower bound on the memory of the deepest network of the sweep: its weights
    ``[N, w, w]`` in float32 and their float64 copy, the N + 1 float64 states (z and y) of
    the samples that autograd keeps, and, where the sensitivity is exact (w <= EXACT_MAX),
    the states of w copies of every sample."""
    exact = depth * samples * width * width * 8 if width <= EXACT_MAX else 0
    return depth * width * width * 12 + 2 * (depth + 1) * samples * width * 8 + exact


def sweep_weights(width: int, depth: int, constant: bool, seed: int) -> Tensor:
    """``[depth, width, width]`` weights, entries N(0, 1 / width): one K repeated
    (``constant``) or one per layer; the same seed gives nested prefixes across depths."""
    gen = torch.Generator().manual_seed(seed)
    if constant:
        K = torch.randn(width, width, generator=gen) / math.sqrt(width)
        return K.expand(depth, width, width).clone()
    return torch.randn(depth, width, width, generator=gen) / math.sqrt(width)


def sweep_inputs(width: int, samples: int, seed: int) -> Tensor:
    gen = torch.Generator().manual_seed(10_000 + seed)
    return torch.randn(samples, width, generator=gen, dtype=torch.float64)


def linear_prediction(block: StableBlock, T: float) -> dict[str, float]:
    """rho(M)^N and exp(max Re(lambda) T) for layer 0 (exact for identity, constant K)."""
    rho = spectral_radius(step_matrix(block, 0))
    lam = block_spectrum(block).system("weights")[0]
    return {
        "rho": rho,
        "predicted_discrete": _exp(block.depth * math.log(rho)) if rho > 0 else 0.0,
        "max_re_lambda": float(lam.real.max()),
        "predicted_continuous": _exp(float(lam.real.max()) * T),
    }


def _exp(x: float) -> float:
    """exp(x), ``inf`` where it overflows float64 (a growth too large to represent)."""
    return math.exp(x) if x < 709.0 else math.inf


def measure(
    arch: str, regime: str, depth: int, h: float, weights: Tensor, y0: Tensor, seed: int
) -> dict[str, Any]:
    """All quantities of one network of the sweep (a flat JSON-able record)."""
    activation, _ = REGIMES[regime]
    T = depth * h
    block = analysis_copy(build_block(arch, weights.shape[-1], depth, T, activation=activation,
                                      init=weights[:depth].clone(), gamma=PAPER_GAMMA))
    grads = block_gradient_norms(block, y0, seed=seed)
    sens = block_sensitivity(block, y0, seed=seed)
    record = {
        "arch": arch, "regime": regime, "depth": depth, "seed": seed, "h": h, "T": T,
        "grad_ratio": grads.ratio, "sens_worst": sens.worst_max, "sens_random": sens.random_mean,
    }
    if regime == "identity":
        record.update(linear_prediction(block, T))
    return record


def depth_sweep(
    depths: Sequence[int] = DEFAULT_DEPTHS, h: float = 0.1, width: int = 4, seeds: int = 3,
    samples: int = 8, archs: Sequence[str] = ARCHITECTURES,
    regimes: Sequence[str] = tuple(REGIMES), progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Run the sweep; returns one record per (regime, arch, seed, depth)."""
    records = []
    for regime in regimes:
        _, constant = REGIMES[regime]
        for arch in archs:
            for seed in range(seeds):
                weights = sweep_weights(width, max(depths), constant, seed)
                y0 = sweep_inputs(width, samples, seed)
                records += [measure(arch, regime, n, h, weights, y0, seed) for n in depths]
            if progress is not None:
                progress(f"{regime:14s} {arch:14s} done")
    return records


def summarise(records: list[dict[str, Any]], key: str) -> dict[tuple[str, str, int], tuple]:
    """(regime, arch, depth) -> (median, min, max) over seeds of ``key``."""
    groups: dict[tuple[str, str, int], list[float]] = {}
    for r in records:
        if key in r:
            groups.setdefault((r["regime"], r["arch"], r["depth"]), []).append(r[key])
    return {
        k: (float(torch.tensor(v, dtype=torch.float64).median()), min(v), max(v))
        for k, v in groups.items()
    }
