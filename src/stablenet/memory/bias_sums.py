"""The bias gradients of a written adjoint sweep, reduced a few layers at a time.

A dense layer's VJP needs db_j = sum of u = sigma'(a) g over the batch rows (over every
entry for a scalar bias). Summed layer by layer that is one small reduction kernel per field
evaluation, about as costly as an elementwise kernel at small widths; :class:`BiasSums`
instead lends the VJP a slot of a ring of m buffers to write u into (``slot``), and reduces
the ring with one kernel once it is full. Every slot records its layer j and its scale, so
that (:meth:`BiasSums.total`)::

    db_j = sum over the slots i of layer j of  scale_i * sum(u_i)

(Verlet writes two slots per layer, with scales h and -h). The ring holds at most
``budget`` bytes (it stays in a core's cache); a u larger than half of it is summed
directly (``slot`` returns None: at that size a kernel's launch costs nothing next to its
work). The sums of the full rings and their slots' (j, scale) are folded into db every
``FOLD`` rings, so that the bookkeeping stays O(1) in depth (reversible mode's memory).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..layers.operators import fused_rows

BUDGET = 256 * 1024  # bytes of the ring
MAX_SLOTS = 16
FOLD = 64  # full rings kept before their sums are added to db


class BiasSums:
    """db for a stack of ``depth`` layers, from the u's the sweep writes into ``slot``s.

    ``per_feature``: the bias has one entry per feature (the last dimension of u); else it
    is a scalar.
    """

    def __init__(self, depth: int, per_feature: bool, budget: int = BUDGET) -> None:
        self.depth, self.per_feature, self.budget = depth, per_feature, budget
        self.ring: Tensor | None = None
        self.used = False  # True once a slot was lent
        self.layers: list[int] = []
        self.scales: list[float] = []
        self.parts: list[Tensor] = []  # the sums of the full rings since the last fold
        self.db: Tensor | None = None  # the folded terms
        self.i = 0

    def slot(self, like: Tensor, j: int, scale: float) -> tuple[Tensor, Tensor, bool] | None:
        """(u, u^T, fused): a buffer shaped like ``like`` to write layer j's u into, its
        transpose, and :func:`~stablenet.layers.operators.fused_rows` of ``like`` (whether
        the VJP should accumulate K^T u with one addmm_); None (sum u directly) if
        ``like`` is not a 2-D batch or too large."""
        if self.ring is None and not self._allocate(like):
            return None
        if like.dtype is not self.dtype or like.shape != self.shape:
            return None
        i = self.i
        if i == self.m:
            self.parts.append(self._reduce(self.ring))
            if len(self.parts) == FOLD:
                self._fold()
            i = 0
        self.i = i + 1
        self.layers.append(j)
        self.scales.append(scale)
        return self.lent[i]

    def _allocate(self, like: Tensor) -> bool:
        m = min(MAX_SLOTS, self.budget // max(1, like.numel() * like.element_size()))
        if like.dim() != 2 or m < 2:
            return False
        self.m, self.shape, self.dtype, self.used = m, like.shape, like.dtype, True
        self.ring = like.new_empty((m, *like.shape))
        fused = fused_rows(like)
        self.lent = [(u, u.T, fused) for u in self.ring.unbind(0)]
        return True

    def _reduce(self, ring: Tensor) -> Tensor:
        """The sums of the slots of ``ring`` ([k, B, n]): [k], or [k, n] per feature."""
        return ring.sum(1) if self.per_feature else ring.view(ring.shape[0], -1).sum(1)

    def total(self) -> Tensor:
        """db: [depth] (scalar bias) or [depth, n], zero for layers without a slot."""
        assert self.ring is not None, "total() of BiasSums that lent no slot"
        self.parts.append(self._reduce(self.ring[: self.i]))
        self.i = 0
        self._fold()
        return self.db

    def _fold(self) -> None:
        """Add the terms of ``parts`` (and their slots' layers and scales) to ``db``."""
        sums = torch.cat(self.parts)
        layers, scales = self.layers[: len(sums)], self.scales[: len(sums)]
        del self.layers[: len(sums)], self.scales[: len(sums)]
        self.parts = []
        if scales.count(scales[0]) == len(scales):  # one step size: one scalar
            sums.mul_(scales[0])
        else:
            scale = torch.tensor(scales, dtype=sums.dtype).to(sums.device)
            sums.mul_(scale.view(-1, *([1] * (sums.dim() - 1))))
        if self.db is None:
            self.db = sums.new_zeros((self.depth, *sums.shape[1:]))
        top, k = layers[0], len(layers)
        if layers == list(range(top, top - k, -1)):  # the sweeps' order, one slot each
            self.db[top - k + 1: top + 1].add_(sums.flip(0))
            return
        index = torch.tensor(layers, device=sums.device)
        if len(set(layers)) == k:  # one slot per layer
            self.db.index_add_(0, index, sums)  # distinct entries: deterministic
            return
        # several slots per layer: one row per repetition (no two slots share an entry,
        # so the result is deterministic on every device), then one sum over the rows
        ranks, seen = [], {}
        for j in layers:
            seen[j] = seen.get(j, -1) + 1
            ranks.append(seen[j])
        rows = sums.new_zeros((max(ranks) + 1, *self.db.shape))
        rows.index_put_((torch.tensor(ranks, device=sums.device), index), sums)
        self.db.add_(rows.sum(0))
