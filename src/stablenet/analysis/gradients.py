"""Backward: the norms of the gradients with respect to every state and every layer's weights.

For a block with states Y_0, ..., Y_N (the integrator's outputs, i.e. the y of (z, y) for
Verlet) and a loss L, this returns ||dL/dY_j|| for j = 0..N and ||dL/dtheta_j|| =
sqrt(||dL/dK_j||_F^2 + ||dL/db_j||^2) (K the free weights, before the parametrisation).
dL/dY_j is the derivative with respect to the tensor Y_j wherever the loop uses it (for
leapfrog both as y_j and as y_{j-1} of the next step; for Verlet with z_j held fixed), so
dL/dY_0 is the gradient with respect to the block's input. The ratio
||dL/dY_0|| / ||dL/dY_N|| is the exploding (>> 1) / vanishing (<< 1) diagnostic.

The default loss is L = <Y_N, r> with a fixed random r of unit norm (seeded), so
dL/dY_N = r; ``grad_output`` gives dL/dY_N directly; for a model with ``labels`` the loss
is the mean cross-entropy of its logits, and each block receives its true dL/dY_N.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..blocks import StableBlock
from ..interfaces import StableModel
from .network import DEVICE, DTYPE, analysed, as_input, is_block, iterate_states, stable_blocks


@dataclass(frozen=True, eq=False)
class GradientNorms:
    """``states``: ``[N + 1]`` ||dL/dY_j||; ``params``: ``[N]`` ||dL/dtheta_j||."""

    states: Tensor
    params: Tensor

    @property
    def ratio(self) -> float:
        """||dL/dY_0|| / ||dL/dY_N||: >> 1 exploding, << 1 vanishing gradients."""
        return float(self.states[0] / self.states[-1])


def unit_direction(shape: torch.Size, seed: int = 0, dtype: torch.dtype = DTYPE) -> Tensor:
    """A fixed random tensor r of unit Frobenius norm (``torch.Generator`` seeded)."""
    r = torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)
    return r / r.norm()


def block_gradient_norms(
    block: StableBlock, y0: Tensor, grad_output: Tensor | None = None, seed: int = 0
) -> GradientNorms:
    """Gradient norms of a block at input ``y0``; L = <Y_N, grad_output or r>."""
    y0 = y0.detach().requires_grad_(True)
    with torch.enable_grad():
        states = [block.integrator.output(s) for s in iterate_states(block, y0)]
        g = grad_output if grad_output is not None else unit_direction(states[-1].shape, seed)
        loss = (states[-1] * g.to(states[-1].dtype)).sum()
        grads = torch.autograd.grad(loss, [y0, *states[1:], block.K, block.b], allow_unused=True)
    n = len(states)
    state_norms = torch.stack([_norm(gr, s) for gr, s in zip(grads[:n], states, strict=True)])
    dK, db = (_zero_if_none(gr, p) for gr, p in zip(grads[n:], (block.K, block.b), strict=True))
    param_norms = (dK.flatten(1).pow(2).sum(1) + db.reshape(len(db), -1).pow(2).sum(1)).sqrt()
    return GradientNorms(state_norms.detach(), param_norms.detach())


def _zero_if_none(grad: Tensor | None, like: Tensor) -> Tensor:
    return torch.zeros_like(like) if grad is None else grad


def _norm(grad: Tensor | None, like: Tensor) -> Tensor:
    return _zero_if_none(grad, like).norm()


def output_grads(model: StableModel, x: Tensor, labels: Tensor) -> list[Tensor]:
    """dL/dY_N of every block for L = mean cross-entropy(model(x), labels)."""
    outputs: dict[int, Tensor] = {}
    hooks = [
        blk.register_forward_hook(lambda _m, _a, out, i=i: outputs.setdefault(i, out))
        for i, blk in enumerate(stable_blocks(model))
    ]
    try:
        with torch.enable_grad():
            loss = F.cross_entropy(model(as_input(x)), labels.detach().to(DEVICE))
            keys = sorted(outputs)
            grads = torch.autograd.grad(loss, [outputs[i] for i in keys])
    finally:
        for hook in hooks:
            hook.remove()
    return list(grads)


def gradient_norms(
    model_or_block: nn.Module, x: Tensor, grad_output: Tensor | None = None, *,
    labels: Tensor | None = None, seed: int = 0,
) -> GradientNorms | list[GradientNorms]:
    """||dL/dY_j|| (j = 0..N) and ||dL/dtheta_j|| of a block (a :class:`GradientNorms`)
    or of every block of a model (a list, one per ``model.blocks``), in float64.

    Block: L = <Y_N, grad_output> (default: a fixed random unit r, ``seed``).
    Model: with ``labels`` L = mean cross-entropy of the logits; without, each block
    gets L = <Y_N, r> at the states ``x`` produces at its input.
    """
    net, blocks, inputs = analysed(model_or_block, x)
    if is_block(net):
        g = None if grad_output is None else as_input(grad_output)
        return block_gradient_norms(net, inputs[0], g, seed)
    if grad_output is not None:
        raise ValueError("grad_output applies to a single block; for a model pass labels")
    outs = output_grads(net, x, labels) if labels is not None else [None] * len(inputs)
    return [
        block_gradient_norms(blk, y0, g, seed)
        for blk, y0, g in zip(blocks, inputs, outs, strict=True)
    ]
