"""The integrators' written adjoints: one step's VJP, the inverse with residuals, init's VJP."""

from __future__ import annotations

import pytest
import torch

from stablenet.integrators import ForwardEuler, Integrator, Leapfrog, Midpoint, Verlet
from stablenet.layers import Dense, Gradient, Hamiltonian, Plain

F64 = torch.float64


CASES = {
    "euler-plain": (ForwardEuler(), Plain(Dense(3))),
    "euler-gradient": (ForwardEuler(), Gradient(Dense(3), "relu")),
    "verlet-hamiltonian": (Verlet(), Hamiltonian(Dense(3))),
    "verlet-second-order": (Verlet(), Gradient(Dense(3))),
    "leapfrog-gradient": (Leapfrog(), Gradient(Dense(3))),
    "leapfrog-plain": (Leapfrog(), Plain(Dense(3), "identity")),
    "midpoint-plain": (Midpoint(), Plain(Dense(3))),
    "midpoint-gradient": (Midpoint(), Gradient(Dense(3), "relu")),
}


def _setup(case):
    integ, field = CASES[case]
    field = integ.adapt(field)
    gen = torch.Generator().manual_seed(0)
    w = (torch.randn(3, 3, generator=gen, dtype=F64), torch.randn(3, generator=gen, dtype=F64))
    x = torch.randn(5, 3, generator=gen, dtype=F64)
    state = integ.step(field, w, 0.4, integ.init(x))  # a state with nonzero z / y_prev
    g = tuple(torch.randn(s.shape, generator=gen, dtype=F64) for s in state)
    return integ, field, w, state, g


@pytest.mark.parametrize("case", sorted(CASES))
def test_adjoint_step_is_the_vjp_of_the_step(case, sum_grads):
    integ, field, w, state, g = _setup(case)
    h = 0.4
    new, res = integ.step_res(field, w, h, state)
    for a, b in zip(new, integ.step(field, w, h, state), strict=True):
        assert torch.equal(a, b)  # the same values as the step of autograd's loop
    grads = sum_grads()
    carried = integ.adjoint_start(tuple(c.clone() for c in g))
    got = integ.adjoint_cotangent(integ.adjoint_step(field, w, h, res, carried, grads))
    leaves = [t.clone().requires_grad_() for t in (*state, *w)]
    out = integ.step(field, (leaves[-2], leaves[-1]), h, tuple(leaves[:-2]))
    ref = torch.autograd.grad(out, leaves, g, allow_unused=True)
    for a, b in zip(got, ref[:-2], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grads.K, ref[-2], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grads.b, ref[-1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", [c for c in CASES if CASES[c][0].invertible])
def test_inverse_res_rebuilds_the_state_and_the_step_residuals(case):
    integ, field, w, state, _ = _setup(case)
    new, res = integ.step_res(field, w, 0.4, state)
    back, res_back = integ.inverse_res(field, w, 0.4, new)
    for a, b in zip(back, state, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    flat = [t for r in (res if isinstance(res[0], tuple) else (res,)) if r for t in r]
    flat_back = [t for r in (res_back if isinstance(res_back[0], tuple) else (res_back,))
                 if r for t in r]
    assert len(flat) == len(flat_back) > 0
    for a, b in zip(flat, flat_back, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("integ", [ForwardEuler(), Verlet(), Leapfrog(), Midpoint()], ids=repr)
def test_init_vjp(integ):
    x = torch.randn(4, 3, dtype=F64, requires_grad=True)
    g = tuple(torch.randn(4, 3, dtype=F64) for _ in integ.state_names)
    loss = sum((s * c).sum() for s, c in zip(integ.init(x), g, strict=True))
    (ref,) = torch.autograd.grad(loss, x)
    torch.testing.assert_close(integ.init_vjp(g), ref, rtol=0, atol=1e-15)


def test_only_the_written_integrators_have_an_adjoint():
    class Users(ForwardEuler):  # a user's integrator: new step rule
        def step(self, field, w, h, state):
            return super().step(field, w, h, state)

    assert ForwardEuler().has_adjoint and Verlet().has_adjoint and Leapfrog().has_adjoint
    assert Midpoint().has_adjoint
    assert not Users().has_adjoint and not Integrator().has_adjoint
