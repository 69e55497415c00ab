"""The weight gradients a written adjoint sweep collects, one layer at a time.

Each layer's backward step adds ``scale * (dL/dK_j, dL/db_j)`` to its entry
(``grads.layer(j).add(scale, gK, gb)``); ``stacks`` returns them shaped like the stacked
weights ``K: [N, ...]``, ``b: [N, ...]``. :class:`WeightGrads` keeps one pair per layer
and stacks once at the end (fewest kernels); :class:`SlotGrads` adds straight into zeroed
stacks (no per-layer objects: reversible mode's memory stays flat in depth).

A dense layer's VJP may leave its bias term to the sweep's :class:`~.bias_sums.BiasSums`
instead (``grads.layer(j).bias_slot(u_like, scale)`` lends it a buffer for u, whose sum is
taken with other layers' in one kernel; ``stacks`` adds those sums to db), and add its dK
as ``add_outer(scale, A^T, C)``, one ``addmm_`` into the layer's entry.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .bias_sums import BiasSums


class LayerGrads:
    """dL/dK_j, dL/db_j of one layer as ``scale * (K, b)``: terms of another scale are
    added with ``alpha = their scale / scale`` (no separate scaling kernels)."""

    __slots__ = ("K", "b", "j", "scale", "sums")

    def __init__(self, j: int, sums: BiasSums) -> None:
        self.K: Tensor | None = None
        self.b: Tensor | None = None
        self.scale, self.j, self.sums = 1.0, j, sums

    def bias_slot(self, like: Tensor, scale: float) -> tuple[Tensor, Tensor, bool] | None:
        """A buffer for u whose sum, times ``scale``, is this layer's db term (with its
        transpose and a BLAS hint, :meth:`BiasSums.slot`), or None: then ``add`` the term."""
        return self.sums.slot(like, self.j, scale)

    def add_outer(self, scale: float, AT: Tensor, C: Tensor) -> None:
        """Add ``scale * AT @ C`` to dK (one mm, or one addmm_ into the layer's dK)."""
        if self.K is None:
            self.K, self.scale = torch.mm(AT, C), scale
        else:
            self.K.addmm_(AT, C, alpha=scale / self.scale)

    def add(self, scale: float, gK: Tensor, gb: Tensor | None) -> None:
        """Add ``scale * (gK, gb)``; ``gK``, ``gb`` are fresh tensors this object may own."""
        if self.K is None:
            self.K, self.b, self.scale = gK, gb, scale
            return
        r = scale / self.scale
        self.K.add_(gK, alpha=r)
        if gb is not None:
            if self.b is None:
                self.b = gb if r == 1.0 else gb.mul_(r)
            else:
                self.b.add_(gb, alpha=r)


class WeightGrads:
    """The per-layer gradients of a sweep, stacked like the weights at the end."""

    def __init__(self, depth: int, b: Tensor) -> None:
        """``b``: the bias stack [N, ...] (its shape says scalar or per-feature)."""
        self.sums = BiasSums(depth, per_feature=b.dim() > 1)
        self.layers = [LayerGrads(j, self.sums) for j in range(depth)]

    def layer(self, j: int) -> LayerGrads:
        return self.layers[j]

    def stacks(self, K: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
        """(dL/dK, dL/db) shaped and typed like ``K: [N, ...]`` and ``b: [N, ...]``."""
        parts = [g.b for g in self.layers]
        if not self.sums.used:
            return self._stack([g.K for g in self.layers], K), self._stack(parts, b)
        db = self.sums.total()
        if any(p is not None for p in parts):  # some terms were added layer by layer
            db = db + self._stack(parts, b)
        return self._stack([g.K for g in self.layers], K), db.to(b.dtype)

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

    __slots__ = ("K", "b", "j", "sums")

    def __init__(self, K: Tensor, b: Tensor, j: int, sums: BiasSums) -> None:
        self.K, self.b, self.j, self.sums = K, b, j, sums

    def bias_slot(self, like: Tensor, scale: float) -> tuple[Tensor, Tensor, bool] | None:
        return self.sums.slot(like, self.j, scale)

    def add_outer(self, scale: float, AT: Tensor, C: Tensor) -> None:
        self.K.addmm_(AT, C, alpha=scale)

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
        self.sums = BiasSums(depth, per_feature=b_j.dim() > 0)

    def layer(self, j: int) -> SlotLayerGrads:
        return SlotLayerGrads(self.K[j], self.b[j], j, self.sums)

    def stacks(self, K: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
        db = self.b + self.sums.total() if self.sums.used else self.b
        return self.K.to(K.dtype), db.to(b.dtype)
