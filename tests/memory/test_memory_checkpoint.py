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


def test_checkpoint_keeps_fewer_tensors_for_backward():
    """Count the tensors autograd saves: all layers' for store, ~N/k + k for checkpoint."""
    def saved(block, x):
        count = [0]

        def pack(t):
            count[0] += 1
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            block(x.requires_grad_())
        return count[0]

    block, x = _block("resnet", False, "scalar")
    block = block.resized(64)
    store = saved(block, x)
    block.set_memory(Checkpoint(every=8))
    assert saved(block, x) < store / 4


@pytest.mark.parametrize(
    ("depth", "k", "expected"),
    [(1, None, 1), (4, None, 2), (5, None, 3), (64, None, 8), (65, None, 9), (10, 3, 3),
     (2, 5, 2)],
)
def test_segment_length(depth, k, expected):
    assert segment_length(depth, k) == expected
    if k is None:
        assert expected == math.ceil(math.sqrt(depth))
