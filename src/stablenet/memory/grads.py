"""The weight gradients a written adjoint sweep collects, one layer at a time.

Each layer's backward step adds ``scale * (dL/dK_j, dL/db_j)`` to its entry
(``grads.layer(j).add(scale, gK, gb)``); ``stacks`` returns them shaped like the stacked
weights ``K: [N, ...]``, ``b: [N, ...]``. :class:`WeightGrads` keeps one pair per layer
and stacks once at the end (fewest kernels); :class:`SlotGrads` adds straight into zeroed
stacks (no per-layer objects: reversible mode's memory stays flat in depth).
"""

from __future__ import annotations

import torch
from torch import Tensor


class LayerGrads:
    """dL/dK_j, dL/db_j of one layer as ``scale * (K, b)``: terms of another scale are
    added with ``alpha = their scale / scale`` (no separate scaling kernels)."""

    __slots__ = ("K", "b", "scale")

    def __init__(self) -> None:
        self.K: Tensor | None = None
        self.b: Tensor | None = None
        self.scale = 1.0

    def add(self, scale: float, gK: Tensor, gb: Tensor | None) -> None:
        """Add ``scale * (gK, gb)``; ``gK``, ``gb`` are fresh tensors this object may own."""
        if self.K is None:
            self.K, self.b, self.scale = gK, gb, scale
            return
        r = scale / self.scale
        self.K.add_(gK, alpha=r)
        if gb is not None:
            self.b = gb.mul_(r) if self.b is None else self.b.add_(gb, alpha=r)


class WeightGrads:
    """The per-layer gradients of a sweep, stacked like the weights at the end."""

    def __init__(self, depth: int) -> None:
        self.layers = [LayerGrads() for _ in range(depth)]

    def layer(self, j: int) -> LayerGrads:
        return self.layers[j]

    def stacks(self, K: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
        """(dL/dK, dL/db) shaped and typed like ``K: [N, ...]`` and ``b: [N, ...]``."""
        return self._stack([g.K for g in self.layers], K), self._stack(
            [g.b for g in self.layers], b)

    def _stack(self, parts: list[Tensor | None], like: Tensor) -> Tensor:
        shape = like.shape[1:]
        out = torch.stack([p if p is not None else like.new_zeros(shape) for p in parts])
        scales = {g.scale for g in self.layers}
        if len(scales) == 1:  # a uniform step: one scalar for the whole stack
            out.mul_(scales.pop())
        else:
            scale = torch.tensor([g.scale for g in self.layers], dtype=out.dtype)
            out.mul_(scale.to(out.device).view(-1, *([1] * len(shape))))
        return out.to(like.dtype)


class SlotLayerGrads:
    """dL/dK_j, dL/db_j of one layer added straight into its (zeroed) slots of the stacks."""

    __slots__ = ("K", "b")

    def __init__(self, K: Tensor, b: Tensor) -> None:
        self.K, self.b = K, b

    def add(self, scale: float, gK: Tensor, gb: Tensor | None) -> None:
        self.K.add_(gK, alpha=scale)
        if gb is not None:
            self.b.add_(gb, alpha=scale)


class SlotGrads(WeightGrads):
    """Per-layer gradients added into zeroed stacks as the sweep goes: no second copy of
    them and no per-layer objects kept (what keeps reversible mode's memory flat in depth),
    one more kernel per layer than :class:`WeightGrads`."""

    def __init__(self, depth: int, K_j: Tensor, b_j: Tensor) -> None:
        self.K = K_j.new_zeros((depth, *K_j.shape))
        self.b = b_j.new_zeros((depth, *b_j.shape))

    def layer(self, j: int) -> SlotLayerGrads:
        return SlotLayerGrads(self.K[j], self.b[j])

    def stacks(self, K: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
        return self.K.to(K.dtype), self.b.to(b.dtype)
