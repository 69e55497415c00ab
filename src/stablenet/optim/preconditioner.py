"""The time-smoothness preconditioner ``M = alpha/h D^T D + shift I`` and its exact inverse.

D is the ``(N-1) x N`` forward difference in time (``(D theta)_j = theta_{j+1} - theta_j``),
so ``alpha/h D^T D`` is the Hessian of the smoothness regulariser
``R_theta = alpha/(2h) sum_j |theta_{j+1} - theta_j|^2`` for every entry of the stacked
weights (docs/theory.md 4). ``D^T D`` is the 1-D discrete Laplacian with Neumann ends
(tridiagonal ``[1, -1; -1, 2, -1; ...; -1, 1]``), diagonalised by the orthonormal DCT-II
basis::

    Q[j, k] = c_k cos(pi k (j + 1/2) / N),   c_0 = sqrt(1/N), c_k = sqrt(2/N)
    D^T D = Q diag(lambda) Q^T,               lambda_k = 2 - 2 cos(pi k / N)

so ``M^{-1} v = Q diag(1 / (alpha/h lambda_k + shift)) Q^T v`` along dim 0: an exact
solve of the block-tridiagonal system for all weight entries at once.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
from torch import Tensor

from ..checks import positive_real


@lru_cache(maxsize=32)
def _neumann_eigen(
    n: int, dtype: torch.dtype = torch.float64, device: str = "cpu"
) -> tuple[Tensor, Tensor]:
    j = torch.arange(n, dtype=torch.float64)
    k = torch.arange(n, dtype=torch.float64)
    q = torch.cos(math.pi * torch.outer(j + 0.5, k) / n)
    q[:, 0] *= math.sqrt(1.0 / n)
    q[:, 1:] *= math.sqrt(2.0 / n)
    lam = 2.0 - 2.0 * torch.cos(math.pi * k / n)
    return q.to(dtype=dtype, device=device), lam.to(dtype=dtype, device=device)


def neumann_laplacian_eigen(n: int, like: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """``(Q, lambda)`` with ``D^T D = Q diag(lambda) Q^T`` for ``n`` time steps (Q orthonormal).

    Cast to the dtype and device of ``like`` when given.
    """
    if like is None:
        return _neumann_eigen(int(n))
    return _neumann_eigen(int(n), like.dtype, str(like.device))


def time_smoothness_solve(v: Tensor, alpha: float, h: float, shift: float) -> Tensor:
    """``(alpha/h D^T D + shift I)^{-1} v`` along dim 0 of ``v`` (``[N, ...]``)."""
    positive_real("shift (alpha/h D^T D is singular on constants)", shift)
    n = v.shape[0]
    q, lam = neumann_laplacian_eigen(n, like=v)
    flat = v.reshape(n, -1)
    coeff = (q.T @ flat) / (alpha / h * lam + shift).unsqueeze(1)
    return (q @ coeff).reshape(v.shape)


def time_smoothness_apply(v: Tensor, alpha: float, h: float, shift: float) -> Tensor:
    """``(alpha/h D^T D + shift I) v`` along dim 0 (the matrix whose inverse is above)."""
    dv = v[1:] - v[:-1]
    lap = torch.zeros_like(v)
    lap[:-1] -= dv
    lap[1:] += dv
    return alpha / h * lap + shift * v
