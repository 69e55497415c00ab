"""``torch.compile`` and the blocks: traced whole, the same numbers as eager.

``backend="aot_eager"`` runs dynamo's tracing and AOT autograd (the parts that meet our
code) without a C compiler, in well under a second per block; ``fullgraph=True`` makes
any graph break an error, so the loop over the layers, the fused updates, the weight
parametrisations and the checkpoint mode are proven traceable. Under ``torch.compile``
the blocks run autograd's loop, not the written adjoint (``memory.adjoint.hand_written``):
the compiler derives and fuses its own backward from the traced loop, which is what it is
good at; eager runs compare against the written adjoint, so these tests also check that
both give the same numbers. The reversible mode's backward calls ``torch.autograd.grad``
per layer, which dynamo (torch 2.13) does not trace whole: without ``fullgraph`` it runs
with a graph break, and still gives eager's numbers.
The inductor test (a real compiler, ~20 s) is marked slow.
"""

from __future__ import annotations

import pytest
import torch

from stablenet.schemes import CONV_BLOCKS, DENSE_BLOCKS

F64 = torch.float64


def make(scheme, conv, memory="store"):
    torch.manual_seed(0)
    block = (CONV_BLOCKS if conv else DENSE_BLOCKS)[scheme](3, 5, 1.5, bias="feature")
    block = block.to(F64)
    with torch.no_grad():
        block.b.normal_(0.0, 0.3)
    block.set_memory(memory)
    x = torch.randn((4, 3, 5, 5) if conv else (8, 3), dtype=F64)
    return block, x


def run(module, block, x):
    """(y_N, dL/dK, dL/db, dL/dx) of L = sum(y_N^2) through ``module`` (block or compiled)."""
    block.zero_grad(set_to_none=True)
    x = x.clone().requires_grad_()
    y = module(x)
    y.square().sum().backward()
    return y.detach(), block.K.grad, block.b.grad, x.grad


def assert_compiled_matches_eager(block, x, **compile_kw):
    torch._dynamo.reset()
    compiled = torch.compile(block, backend="aot_eager", **compile_kw)
    got, ref = run(compiled, block, x), run(block, block, x)
    for g, r in zip(got, ref, strict=True):
        torch.testing.assert_close(g, r, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("memory", ["store", "checkpoint"])
@pytest.mark.parametrize("conv", [False, True], ids=["dense", "conv"])
@pytest.mark.parametrize("scheme", list(DENSE_BLOCKS))
def test_compile_fullgraph_matches_eager(scheme, conv, memory):
    block, x = make(scheme, conv, memory)
    assert_compiled_matches_eager(block, x, fullgraph=True)


@pytest.mark.parametrize("scheme", ["hamiltonian", "leapfrog"])
def test_compile_reversible_matches_eager(scheme):
    block, x = make(scheme, False, "reversible")
    assert_compiled_matches_eager(block, x)


@pytest.mark.slow  # inductor compiles C++ / Triton code: ~20 s on a loaded 2-core machine
def test_inductor_matches_eager():
    block, x = make("hamiltonian", False)
    torch._dynamo.reset()
    compiled = torch.compile(block)
    for g, r in zip(run(compiled, block, x), run(block, block, x), strict=True):
        torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-10)
