"""Forward sensitivity of a block: how much the output Y_N moves when the input Y_0 moves.

* random: ||Y_N(x + delta) - Y_N(x)|| / ||delta|| for ``n_random`` Gaussian perturbations
  delta of the whole batch, scaled to ||delta|| = ``eps`` ||x|| (Frobenius norms over the
  batch), and the same ratio after every layer j (``profile``, mean over the deltas);
* worst case: per sample, the largest singular value of the Jacobian dY_N/dY_0, by power
  iteration on J^T J with Jacobian-vector products by automatic differentiation
  (``method="power"``), or from the explicitly built per-sample Jacobian (one reverse pass
  over m copies of each sample; ``method="exact"``, the default for states of size m <= 64).

Blocks act on each sample separately, so the batch Jacobian is block diagonal and all
samples are iterated at once. Everything runs in float64 (see :mod:`.network`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..blocks import StableBlock
from .linalg import jacobians, power_singular, spectral_norms
from .network import analysed, is_block, iterate_states, propagate

EXACT_MAX = 64


@dataclass(frozen=True, eq=False)
class Sensitivity:
    """Forward sensitivity of one block.

    Attributes:
        random: ``[n_random]`` ratios ||Y_N(x + delta) - Y_N(x)|| / ||delta||.
        profile: ``[N + 1]`` mean over the deltas of ||Y_j(x + delta) - Y_j(x)|| / ||delta||.
        worst: ``[B]`` per sample, the largest singular value of dY_N/dY_0.
        method: "exact" or "power"; eps: the relative size of delta.
    """

    random: Tensor
    profile: Tensor
    worst: Tensor
    method: str
    eps: float

    @property
    def worst_max(self) -> float:
        return float(self.worst.max())

    @property
    def random_mean(self) -> float:
        return float(self.random.mean())


def random_profile(block: StableBlock, y0: Tensor, n_random: int, eps: float,
                   gen: torch.Generator) -> Tensor:
    """``[n_random, N + 1]``: ||Y_j(x + delta_r) - Y_j(x)|| / ||delta_r|| for every layer j."""
    deltas = torch.randn((n_random, *y0.shape), generator=gen, dtype=y0.dtype)
    deltas = deltas * (eps * y0.norm().clamp_min(1e-300) / deltas.flatten(1).norm(dim=1)).view(
        -1, *[1] * y0.dim()
    )
    batch = torch.cat([y0.unsqueeze(0), y0.unsqueeze(0) + deltas]).flatten(0, 1)
    rows = []
    with torch.no_grad():
        for state in iterate_states(block, batch):
            y = block.integrator.output(state).unflatten(0, (n_random + 1, len(y0)))
            rows.append((y[1:] - y[:1]).flatten(1).norm(dim=1))
    norms = deltas.flatten(1).norm(dim=1)
    return torch.stack(rows, dim=1) / norms[:, None]


def exact_jacobians(block: StableBlock, y0: Tensor) -> Tensor:
    """``[B, m, m]``: the Jacobian dY_N/dY_0 of every sample (reverse mode, m copies each)."""
    return jacobians(lambda Y: propagate(block, Y), y0)


def power_worst(block: StableBlock, y0: Tensor, iters: int, gen: torch.Generator) -> Tensor:
    """``[B]``: the largest singular value of dY_N/dY_0 per sample, by power iteration.

    J^T u is one reverse pass; J v is the reverse pass of u -> J^T u (double backward,
    exact since J^T u is linear in u), so no forward-mode AD is needed.
    """
    y = y0.detach().requires_grad_(True)
    with torch.enable_grad():
        out = propagate(block, y)
        u = torch.zeros_like(out, requires_grad=True)
        (jtu,) = torch.autograd.grad(out, y, u, create_graph=True)

    def forward(v: Tensor) -> Tensor:
        return torch.autograd.grad(jtu, u, v, retain_graph=True)[0]

    def adjoint(w: Tensor) -> Tensor:
        return torch.autograd.grad(out, y, w, retain_graph=True)[0]

    v0 = torch.randn(y0.shape, generator=gen, dtype=y0.dtype)
    return power_singular(forward, adjoint, v0, iters).detach()


def block_sensitivity(
    block: StableBlock, y0: Tensor, *, n_random: int = 8, n_power_iter: int = 30,
    eps: float = 1e-6, method: str = "auto", seed: int = 0,
) -> Sensitivity:
    """Sensitivity of a float64 block at its input states ``y0: [B, ...]``."""
    if method not in ("auto", "exact", "power"):
        raise ValueError(f"method must be 'auto', 'exact' or 'power', got {method!r}")
    gen = torch.Generator().manual_seed(seed)
    profile = random_profile(block, y0, n_random, eps, gen)
    if method == "auto":
        method = "exact" if y0[0].numel() <= EXACT_MAX else "power"
    if method == "exact":
        worst = spectral_norms(exact_jacobians(block, y0))
    else:  # NaN where the states overflowed: the amplification exceeds float64 (inf)
        worst = power_worst(block, y0, n_power_iter, gen).nan_to_num(nan=math.inf)
    return Sensitivity(profile[:, -1], profile.mean(dim=0), worst, method, eps)


def sensitivity(
    model_or_block: nn.Module, x: Tensor, *, n_random: int = 8, n_power_iter: int = 30,
    eps: float = 1e-6, method: str = "auto", seed: int = 0,
) -> Sensitivity | list[Sensitivity]:
    """Forward sensitivity of a block at input ``x``, or of every block of a model at the
    states that ``x`` produces there (a list, one per ``model.blocks``).

    ``n_random`` Gaussian perturbations of relative size ``eps`` (float64, so 1e-6 measures
    the linearisation), and the worst case = the largest singular value of dY_N/dY_0 per
    sample, by ``method`` "exact", "power" (``n_power_iter`` iterations) or "auto".
    """
    net, blocks, inputs = analysed(model_or_block, x)
    opts = dict(n_random=n_random, n_power_iter=n_power_iter, eps=eps, method=method, seed=seed)
    result = [block_sensitivity(blk, y0, **opts) for blk, y0 in zip(blocks, inputs, strict=True)]
    return result[0] if is_block(net) else result
