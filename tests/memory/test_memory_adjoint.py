"""The written discrete adjoint: autograd's gradients for every block, mode, bias, activation.

The reference is the same block with the activation passed as a user's callable (so
stablenet lets autograd record the loop), on the same weights, in float64.
"""

from __future__ import annotations

import copy

import pytest
import torch

from stablenet.blocks import StableBlock
from stablenet.integrators import Leapfrog, Midpoint, Verlet
from stablenet.layers import Antisymmetric, Conv, Dense, Gradient, Plain
from stablenet.memory import Checkpoint, Reversible, Store
from stablenet.schemes import ARCH_TABLE as SCHEMES
from stablenet.schemes import CONV_BLOCKS, DENSE_BLOCKS

F64 = torch.float64
INVERTIBLE = [s for s, (_, integ, _) in SCHEMES.items() if integ.invertible]
USER = {"tanh": lambda t: torch.tanh(t), "relu": lambda t: torch.relu(t),
        "identity": lambda t: t * 1.0}


def autograd_twin(block: StableBlock, activation: str) -> StableBlock:
    """``block`` with ``activation`` as a user's callable (autograd's loop), same weights."""
    twin = copy.deepcopy(block)
    inner = getattr(twin.field, "force", twin.field)
    inner.sigma, inner.sigma_vjp = USER[activation], None
    assert not twin.field.has_vjp
    return twin


def grads(block, x):
    """(y_N, dL/dx, dL/dK, dL/db) with cotangents reaching every part of the final state."""
    block.zero_grad(set_to_none=True)
    x = x.clone().requires_grad_()
    out, state = block(x, return_state=True)
    loss = torch.sin(out).sum() + sum(((i + 2) * s.square()).sum() for i, s in enumerate(state))
    loss.backward()
    return out, x.grad, block.K.grad, block.b.grad


def make(arch, conv, bias, activation, memory, depth=5, seed=0):
    torch.manual_seed(seed)
    if conv:
        block = CONV_BLOCKS[arch](3, depth, 1.5, activation=activation, bias=bias, memory=memory)
        x = torch.randn(2, 3, 5, 4, dtype=F64)
    else:
        block = DENSE_BLOCKS[arch](4, depth, 1.5, activation=activation, bias=bias, memory=memory)
        x = torch.randn(6, 4, dtype=F64)
    block = block.to(F64)
    with torch.no_grad():
        block.b.normal_(0.0, 0.5)
    return block, x


def assert_same_gradients(block, twin, x):
    out, *got = grads(block, x)
    ref_out, *ref = grads(twin, x)
    assert type(out.grad_fn).__name__ == "DiscreteAdjointBackward"
    assert "DiscreteAdjoint" not in type(ref_out.grad_fn).__name__
    torch.testing.assert_close(out, ref_out, rtol=1e-13, atol=1e-13)
    for g, r in zip(got, ref, strict=True):
        assert r.abs().max() > 0
        torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-10)


MODES = [Store(), Checkpoint(2), Checkpoint(), Reversible()]
CASES = [
    pytest.param(arch, mode, id=f"{arch}-{mode!r}")
    for arch in sorted(SCHEMES) for mode in MODES
    if arch in INVERTIBLE or not isinstance(mode, Reversible)
]


@pytest.mark.parametrize("activation", ["tanh", "relu", "identity"])
@pytest.mark.parametrize("bias", ["scalar", "feature"])
@pytest.mark.parametrize("conv", [False, True], ids=["dense", "conv"])
@pytest.mark.parametrize(("arch", "mode"), CASES)
def test_written_adjoint_equals_autograd(arch, mode, conv, bias, activation):
    block, x = make(arch, conv, bias, activation, mode)
    assert_same_gradients(block, autograd_twin(block, activation), x)


def _leapfrog_plain(op):  # not a named scheme: a plain field as leapfrog force, antisym. K
    return StableBlock(Plain(op, "relu"), Leapfrog(), 6, 2.0, bias="feature",
                       parametrization=Antisymmetric(0.1))


def _midpoint(op):  # the antisymmetric field without damping under the midpoint rule
    return StableBlock(Plain(op), Midpoint(), 6, 2.0, parametrization=Antisymmetric(0.0))


OTHER = {
    "midpoint-antisymmetric-dense": (lambda: _midpoint(Dense(4)), (5, 4), "tanh"),
    "midpoint-antisymmetric-conv": (lambda: _midpoint(Conv(2)), (2, 2, 4, 4), "tanh"),
    "leapfrog-plain-dense": (lambda: _leapfrog_plain(Dense(4)), (5, 4), "relu"),
    "leapfrog-plain-conv": (lambda: _leapfrog_plain(Conv(2)), (2, 2, 4, 4), "relu"),
    # Verlet on a non-partitioned force: SecondOrder, dy(z) = z has no weights
    "verlet-second-order": (lambda: StableBlock(Gradient(Dense(4)), Verlet(), 7, 2.0),
                            (5, 4), "tanh"),
    "batch-of-sequences": (lambda: DENSE_BLOCKS["parabolic"](4, 3, 1.0, bias="feature"),
                           (2, 3, 4), "tanh"),  # dense blocks act on the last dimension
}


@pytest.mark.parametrize(("case", "mode"), [
    pytest.param(case, mode, id=f"{case}-{mode!r}") for case in sorted(OTHER)
    for mode in (Store(), Checkpoint(3), Reversible())
    if case != "batch-of-sequences" or not isinstance(mode, Reversible)  # euler: no inverse
])
def test_other_compositions(case, mode):
    build, shape, activation = OTHER[case]
    torch.manual_seed(0)
    block = build().to(F64)
    block.set_memory(mode)
    with torch.no_grad():
        block.b.normal_(0.0, 0.5)
    assert_same_gradients(block, autograd_twin(block, activation), torch.randn(shape, dtype=F64))


GRADCHECK = [("hamiltonian", False, Store()), ("hamiltonian", False, Checkpoint(2)),
             ("hamiltonian", False, Reversible()), ("leapfrog", False, Reversible()),
             ("antisymmetric", False, Checkpoint(2)), ("parabolic", False, Store()),
             ("leapfrog", True, Checkpoint(2)), ("hamiltonian", True, Reversible())]


@pytest.mark.parametrize(("arch", "conv", "mode"), GRADCHECK,
                         ids=[f"{a}-{'conv' if c else 'dense'}-{m!r}" for a, c, m in GRADCHECK])
def test_gradcheck(arch, conv, mode):
    """Finite differences against the written backward (and, dense, the double backward)."""
    block, x = make(arch, conv, "feature", "relu" if arch == "parabolic" else "tanh", mode,
                    depth=3)
    if conv:
        x = x[:1, :, :3, :3]  # conv gradchecks are slow: one small image
    K0, b0 = block.K.detach().clone(), block.b.detach().clone()

    def f(x, K, b):
        return torch.func.functional_call(block, {"K": K, "b": b}, (x,))

    inputs = (x.requires_grad_(), K0.requires_grad_(), b0.requires_grad_())
    assert type(f(*inputs).grad_fn).__name__ == "DiscreteAdjointBackward"
    assert torch.autograd.gradcheck(f, inputs)
    if not conv:
        assert torch.autograd.gradgradcheck(f, inputs)  # double backward: autograd's loop


def test_double_backward_gives_autograd_hessian_vector_products():
    block, x = make("hamiltonian", False, "scalar", "tanh", Reversible())
    twin = autograd_twin(block, "tanh")  # reversible too, in its autograd form
    v = torch.randn_like(block.K)
    hvps = []
    for b in (block, twin):
        xg = x.clone().requires_grad_()
        (gK,) = torch.autograd.grad(b(xg).square().sum(), b.K, create_graph=True)
        hvps.append(torch.autograd.grad((gK * v).sum(), (b.K, xg)))
    for got, ref in zip(*hvps, strict=True):
        torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("mode", [Store(), Checkpoint(2), Reversible()], ids=repr)
def test_a_retained_graph_backpropagates_twice(mode):
    """The residuals are freed during the first backward; a second one recomputes them."""
    block, x = make("leapfrog", False, "feature", "tanh", mode)
    out = block(x)
    first = torch.autograd.grad(out.square().sum(), block.K, retain_graph=True)[0]
    second = torch.autograd.grad(out.square().sum(), block.K)[0]
    torch.testing.assert_close(second, first, rtol=1e-12, atol=1e-12)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        out.sum().backward()


def test_an_output_changed_in_place_is_refused_not_differentiated_wrongly():
    block, x = make("hamiltonian", False, "scalar", "tanh", Store())
    z, y = block(x.requires_grad_(), return_state=True)[1]
    loss = y.sum() + z.square().sum()
    z.add_(1.0)  # the last layer's residuals hold z_N
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_what_falls_back_to_autograd():
    block, x = make("resnet", False, "scalar", "tanh", Store())
    assert type(block(x.requires_grad_()).grad_fn).__name__ == "DiscreteAdjointBackward"

    class Doubled(Plain):  # new math: the written VJP does not apply
        def __call__(self, w, y):
            return 2 * super().__call__(w, y)

    assert not Doubled(Dense(4)).has_vjp and Plain(Dense(4)).has_vjp
    block32 = copy.deepcopy(block).float()
    with torch.autocast("cpu", dtype=torch.bfloat16):  # autocast: autograd's loop
        assert "DiscreteAdjoint" not in type(block32(x.float()).grad_fn).__name__
    grad = torch.func.grad(lambda K: torch.func.functional_call(
        block, {"K": K, "b": block.b}, (x,)).square().sum())(block.K.detach())
    ref = torch.autograd.grad(block(x).square().sum(), block.K)[0]
    torch.testing.assert_close(grad, ref, rtol=1e-12, atol=1e-12)  # torch.func: autograd


def test_a_patched_integrator_falls_back(monkeypatch):
    block, x = make("leapfrog", False, "scalar", "tanh", Store())
    assert block.integrator.has_adjoint
    step = Leapfrog.step
    monkeypatch.setattr(Leapfrog, "step", lambda *a: step(*a))
    assert not block.integrator.has_adjoint
    assert "DiscreteAdjoint" not in type(block(x.requires_grad_()).grad_fn).__name__
