"""Checkpoint memory mode: every scheme, gradients equal ordinary autograd."""

from __future__ import annotations

import math

import pytest
import torch

from stablenet.memory import Checkpoint, segment_length
from stablenet.schemes import CONV_BLOCKS, DENSE_BLOCKS

F64 = torch.float64
DEPTH = 7


def _block(arch, conv, bias, **memory):
    torch.manual_seed(0)
    if conv:
        block, shape = CONV_BLOCKS[arch](2, DEPTH, 2.0, bias=bias, **memory), (2, 2, 4, 3)
    else:
        block, shape = DENSE_BLOCKS[arch](4, DEPTH, 2.0, bias=bias, **memory), (5, 4)
    block = block.to(F64)
    with torch.no_grad():
        block.b.normal_(0.0, 0.5)
    return block, torch.randn(shape, dtype=F64)


def _grads(block, x):
    block.zero_grad(set_to_none=True)
    x = x.clone().requires_grad_()
    out, state = block(x, return_state=True)
    (torch.sin(out).sum() + sum((s**2).sum() for s in state)).backward()
    return out.detach(), x.grad, block.K.grad, block.b.grad


@pytest.mark.parametrize("k", [1, 3, DEPTH, None], ids=lambda k: f"k={k}")
@pytest.mark.parametrize("bias", ["scalar", "feature"])
@pytest.mark.parametrize("conv", [False, True], ids=["dense", "conv"])
@pytest.mark.parametrize("arch", sorted(DENSE_BLOCKS))
def test_checkpoint_gradients_equal_autograd(arch, conv, bias, k):
    block, x = _block(arch, conv, bias)
    ref = _grads(block, x)
    block.set_memory(Checkpoint(k))
    got = _grads(block, x)
    assert torch.equal(got[0], ref[0])
    for g, r in zip(got[1:], ref[1:], strict=True):
        assert g.abs().max() > 0
        torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-10)


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
