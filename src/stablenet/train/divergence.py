"""Catching divergence: find the first layer where the states or gradients blew up.

When a step sees a non-finite loss or an exploding gradient norm, :func:`diagnose`
propagates the batch through every block with ``return_trajectory=True`` (along the
model's own pipeline, ``embed`` and ``connect``) and reports the
first layer j whose state y_j is non-finite or larger than ``blowup`` times the block's
input norm; failing that, the first layer whose weight gradient is non-finite or the
largest. :class:`DivergenceError` carries the message, with the usual fixes.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..errors import UserError
from ..interfaces import StableModel

FIXES = (
    "Fixes: a smaller step h = T/N (more depth at the same T: raise --depth, or lower --T), "
    "a stable architecture (--arch hamiltonian, antisymmetric or leapfrog), or a smaller --lr; "
    "`stablenet analyze` shows the layers' stability margins."
)


class DivergenceError(UserError, ArithmeticError):
    """Training diverged (non-finite loss or exploding gradients); the message says where."""


def _norms(trajectory: Tensor) -> Tensor:
    """|y_j| per layer j (max over the batch) of a trajectory ``[N + 1, B, ...]``."""
    flat = trajectory.detach().reshape(trajectory.shape[0], trajectory.shape[1], -1)
    norms = flat.double().norm(dim=2)
    return torch.where(torch.isfinite(norms), norms, torch.full_like(norms, math.inf)).amax(1)


@torch.no_grad()
def first_state_blowup(model: StableModel, x: Tensor, blowup: float = 1e6) -> str | None:
    """Where the first state y_j (the output of layer j - 1) explodes, or ``None``."""
    was_training = model.training
    model.eval()
    try:
        y = model.embed(x)
        for i, block in enumerate(model.blocks):
            traj = block(y, return_trajectory=True)
            norms = _norms(traj)
            limit = blowup * max(float(norms[0]), 1.0)
            bad = (~torch.isfinite(norms)) | (norms > limit)
            if bool(bad.any()):
                j = int(bad.nonzero()[0, 0])
                if j == 0:
                    return f"the input of block {i} is already non-finite or huge"
                return (f"the states blow up first in layer {j - 1} of block {i} (weights "
                        f"K_{j - 1}: |y_{j}| = {float(norms[j]):.3g}, |y_0| = "
                        f"{float(norms[0]):.3g}, h = {block.h:g})")
            y = model.connect(i, traj[-1])  # the model's own pipeline between blocks
    finally:
        model.train(was_training)
    return None


def first_gradient_blowup(model: StableModel) -> str | None:
    """Where the weight gradients of the blocks are non-finite (first layer) or largest."""
    worst: tuple[float, int, int] | None = None
    for i, block in enumerate(model.blocks):
        if block.K.grad is None:
            continue
        g = block.K.grad.detach().reshape(block.depth, -1).double().norm(dim=1)
        bad = ~torch.isfinite(g)
        if bool(bad.any()):
            j = int(bad.nonzero()[0, 0])
            return f"the gradients are non-finite first at layer {j} of block {i}"
        j = int(g.argmax())
        if worst is None or float(g[j]) > worst[0]:
            worst = (float(g[j]), i, j)
    if worst is None:
        return None
    return f"the largest weight gradient is at layer {worst[2]} of block {worst[1]} " \
           f"(|dJ/dK_{worst[2]}| = {worst[0]:.3g})"


def diagnose(model: StableModel, x: Tensor, what: str, value: float, where: str) -> DivergenceError:
    """The error to raise when ``what`` (loss / gradient norm) reached ``value`` at ``where``."""
    culprit = first_state_blowup(model, x) or first_gradient_blowup(model)
    culprit = culprit or "no single layer stands out (the classifier may have blown up)"
    return DivergenceError(f"training diverged at {where}: the {what} is {value:.3g}; {culprit}. "
                           f"{FIXES}")
