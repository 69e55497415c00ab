"""The one-step amplification matrix of a layer: the linear theory of the discrete scheme.

With sigma = identity and b = 0 one step of any integrator is a linear map of its full
state (y for forward Euler, (z, y) for Verlet, (y_{j-1}, y_j) for leapfrog):
state_{j+1} = M_j state_j. With weights constant in time, Y_N = P M^N E Y_0, so the
growth over N layers is governed by rho(M)^N (rho the spectral radius): the discrete
counterpart of exp(max Re(lambda) T) (for forward Euler rho(M) = max |1 + h lambda|).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..blocks import StableBlock
from .spectra import linear_field


def step_matrix(block: StableBlock, j: int = 0, shape: tuple[int, ...] | None = None) -> Tensor:
    """``[M, M]``: the linear one-step map of layer ``j`` on the full (flattened) state.

    ``shape``: the per-sample state shape (default ``(width,)``; give (C, H, W) for conv).
    """
    shape = shape or (block.width,)
    integ, lin = block.integrator, linear_field(block.field)
    K, b = block.weights()
    w = (K[j], torch.zeros_like(b[j]))
    parts = len(integ.init(K.new_zeros(1, *shape)))
    n = int(torch.Size(shape).numel())

    def step(flat: Tensor) -> Tensor:
        state = tuple(p.reshape(-1, *shape) for p in flat.split(n, dim=1))
        new = integ.step(lin, w, block.h, state)
        return torch.cat([s.flatten(1) for s in new], dim=1)

    with torch.no_grad():  # the step is linear: its matrix has columns M e_k
        return step(torch.eye(parts * n, dtype=K.dtype, device=K.device)).T


def spectral_radius(matrix: Tensor) -> float:
    """max |eigenvalue|."""
    return float(torch.linalg.eigvals(matrix).abs().max())
