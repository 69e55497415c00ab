"""Checkpoint memory mode: what it keeps for backward, and the segment length.

Its values and gradients against store mode, for every scheme: tests/memory/test_memory_modes.py.
"""

from __future__ import annotations

import math

import pytest
import torch

from stablenet.memory import Checkpoint, segment_length
from stablenet.schemes import DENSE_BLOCKS


def _kept_storages(out, pack_count):
    """Distinct tensor storages kept for backward: those the written adjoint holds on its
    node (``kept``) plus those autograd's saved-tensor hooks saw (``pack_count``)."""
    ptrs = set()

    def walk(tree):
        if isinstance(tree, torch.Tensor):
            ptrs.add(tree.untyped_storage().data_ptr())
        elif isinstance(tree, (list, tuple)):
            for t in tree:
                walk(t)

    walk(getattr(out.grad_fn, "kept", None))
    return len(ptrs) + pack_count


def user_tanh(t):
    return torch.tanh(t)


@pytest.mark.parametrize("activation", ["tanh", user_tanh], ids=["written", "autograd"])
def test_checkpoint_keeps_fewer_tensors_for_backward(activation):
    """What backward keeps: all layers' states for store, ~N/k + k for checkpoint (the
    written adjoint's residuals, or the tensors autograd saves for the fallback)."""
    def kept(block, x):
        count = [0]

        def pack(t):
            count[0] += 1
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            out = block(x.requires_grad_())
        return _kept_storages(out, count[0])

    torch.manual_seed(0)
    block = DENSE_BLOCKS["resnet"](4, 64, 2.0, activation=activation)
    x = torch.randn(5, 4)
    store = kept(block, x)
    assert store >= 64  # at least one state per layer
    block.set_memory(Checkpoint(every=8))
    assert kept(block, x) < store / 4


@pytest.mark.parametrize(
    ("depth", "k", "expected"),
    [(1, None, 1), (4, None, 2), (5, None, 3), (64, None, 8), (65, None, 9), (10, 3, 3),
     (2, 5, 2)],
)
def test_segment_length(depth, k, expected):
    assert segment_length(depth, k) == expected
    if k is None:
        assert expected == math.ceil(math.sqrt(depth))
