"""The written vector-Jacobian products of operators, activations and layer functions.

Each is compared with ``torch.autograd.grad`` of the forward it transcribes, in float64;
the field VJPs also with respect to both weights and with the scale alpha of the step.
"""

from __future__ import annotations

import pytest
import torch

from stablenet.activations import (
    ACTIVATION_VJPS,
    ACTIVATIONS,
    activation_vjp,
    activation_vjp_into,
)
from stablenet.layers import Conv, Dense, Gradient, Hamiltonian, Plain, SecondOrder
from stablenet.layers.operators import has_vjp

F64 = torch.float64


def _operator(kind):
    return Dense(3) if kind == "dense" else Conv(2)


def _tensors(op, bias, seed=0):
    gen = torch.Generator().manual_seed(seed)
    shape = (4, 3) if isinstance(op, Dense) else (2, 2, 4, 3)
    K = torch.randn(op.weight_shape, generator=gen, dtype=F64)
    b = torch.randn(op.bias_shape(bias), generator=gen, dtype=F64)
    y, g = (torch.randn(shape, generator=gen, dtype=F64) for _ in range(2))
    return K, b, y, g


def _autograd(f, inputs, g):
    leaves = [t.clone().requires_grad_() for t in inputs]
    return torch.autograd.grad(f(*leaves), leaves, g, allow_unused=True)


@pytest.mark.parametrize("bias", ["scalar", "feature"])
@pytest.mark.parametrize("kind", ["dense", "conv"])
def test_operator_vjps(kind, bias):
    op = _operator(kind)
    K, b, y, u = _tensors(op, bias)
    cases = {
        "affine_vjp": (op.affine_vjp(K, b, y, u), lambda K, b, y: op.affine(K, b, y)),
        "adjoint_affine_vjp": (op.adjoint_affine_vjp(K, b, y, u),
                               lambda K, b, y: op.adjoint_affine(K, b, y)),
    }
    for name, ((gy, gK, gb), f) in cases.items():
        rK, rb, ry = _autograd(f, (K, b, y), u)
        for got, ref in ((gy, ry), (gK, rK), (gb, rb)):
            torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12, msg=name)
    gs, gK = op.adjoint_vjp(K, y, u)
    rK, rs = _autograd(lambda K, s: op.adjoint(K, s), (K, y), u)
    torch.testing.assert_close(gs, rs, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(gK, rK, rtol=1e-12, atol=1e-12)


def test_operator_vjps_apply_to_unchanged_operators_only():
    class Scaled(Dense):
        def affine(self, K, b, y):
            return 2 * super().affine(K, b, y)

    assert has_vjp(Dense(2)) and has_vjp(Conv(2)) and not has_vjp(Scaled(2))
    assert not has_vjp(object())


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_vjps_from_the_output(name):
    sigma = ACTIVATIONS[name]
    a = torch.randn(50, dtype=F64)
    g = torch.randn(50, dtype=F64)
    (ref,) = _autograd(sigma, (a,), g)
    torch.testing.assert_close(activation_vjp(sigma)(g, sigma(a)), ref, rtol=1e-14, atol=1e-14)
    assert set(ACTIVATION_VJPS) == set(ACTIVATIONS.values())
    assert activation_vjp(lambda t: torch.tanh(t)) is None  # a user's callable: autograd


@pytest.mark.parametrize("name", ["tanh", "relu"])
def test_activation_vjps_into_a_buffer_keep_the_output(name):
    """The deferred-bias form writes sigma'(a) g into a given buffer and leaves s intact."""
    sigma = ACTIVATIONS[name]
    a, g = torch.randn(50, dtype=F64), torch.randn(50, dtype=F64)
    (ref,) = _autograd(sigma, (a,), g)
    s, out = sigma(a), torch.full((50,), float("nan"), dtype=F64)
    s0 = s.clone()
    activation_vjp_into(sigma)(g, s, grad_input=out)
    torch.testing.assert_close(out, ref, rtol=1e-14, atol=1e-14)
    assert torch.equal(s, s0)
    assert activation_vjp_into(ACTIVATIONS["identity"]) is None
    assert activation_vjp_into(lambda t: torch.tanh(t)) is None


FIELDS = {"plain": Plain, "gradient": Gradient}


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("bias", ["scalar", "feature"])
@pytest.mark.parametrize("kind", ["dense", "conv"])
@pytest.mark.parametrize("form", sorted(FIELDS))
def test_first_order_field_vjp(form, kind, bias, activation, sum_grads):
    """vjp_scaled(base, alpha, w, res, g) = base + alpha J_y^T g; grads += alpha J_w^T g."""
    field = FIELDS[form](_operator(kind), activation)
    K, b, y, g = _tensors(field.operator, bias, seed=1)
    base, alpha = torch.randn_like(y), -0.7
    out, res = field.add_scaled_res(base, alpha, (K, b), y)
    torch.testing.assert_close(out, base + alpha * field((K, b), y), rtol=1e-14, atol=1e-14)
    grads = sum_grads()
    got = field.vjp_scaled(base.clone(), alpha, (K, b), res, g, grads)
    rK, rb, ry = _autograd(lambda K, b, y: alpha * field((K, b), y), (K, b, y), g)
    torch.testing.assert_close(got, base + ry, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grads.K, rK, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(torch.as_tensor(grads.b, dtype=F64), rb, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("bias", ["scalar", "feature"])
@pytest.mark.parametrize("kind", ["dense", "conv"])
@pytest.mark.parametrize("field_type", [Hamiltonian, lambda op, a: SecondOrder(Gradient(op, a))],
                         ids=["hamiltonian", "second-order"])
def test_partitioned_field_vjps(field_type, kind, bias, activation, sum_grads):
    field = field_type(_operator(kind), activation)
    K, b, y, g = _tensors(field.operator, bias, seed=2)
    for part in ("dy", "dz"):
        base, alpha = torch.randn_like(y), 0.3
        out, res = getattr(field, f"add_scaled_{part}_res")(base, alpha, (K, b), y)
        f = getattr(field, part)
        torch.testing.assert_close(out, base + alpha * f((K, b), y), rtol=1e-14, atol=1e-14)
        grads = sum_grads()
        got = getattr(field, f"vjp_scaled_{part}")(base.clone(), alpha, (K, b), res, g, grads)
        rK, rb, ry = _autograd(lambda K, b, y, f=f, a=alpha: a * f((K, b), y), (K, b, y), g)
        torch.testing.assert_close(got, base + ry, rtol=1e-12, atol=1e-12)
        for got_w, ref_w in ((grads.K, rK), (grads.b, rb)):
            ref_w = torch.zeros(()) if ref_w is None else ref_w
            torch.testing.assert_close(torch.as_tensor(got_w, dtype=F64).expand_as(ref_w),
                                       ref_w.to(F64), rtol=1e-12, atol=1e-12)


def test_has_vjp_needs_a_named_activation_and_unchanged_methods():
    assert Plain(Dense(2), "relu").has_vjp and Hamiltonian(Conv(2), "identity").has_vjp
    assert not Plain(Dense(2), lambda t: t.sin()).has_vjp

    class Shifted(Gradient):
        def add_scaled(self, base, alpha, w, y):
            return super().add_scaled(base, alpha, w, y) + 1

    assert not Shifted(Dense(2)).has_vjp
    assert SecondOrder(Gradient(Dense(2))).has_vjp
    assert not SecondOrder(Gradient(Dense(2), torch.sin)).has_vjp
