"""Vector fields: the formulas and the Jacobian structure that makes them stable."""

from __future__ import annotations

import torch
from torch.autograd.functional import jacobian

from stablenet.layers import Dense, Gradient, Hamiltonian, Plain, SecondOrder


def weights(n: int, seed: int):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, n, generator=gen), torch.randn(n, generator=gen)


def test_field_formulas(float64):
    (K, b), y = weights(3, 0), torch.linspace(-1.0, 1.5, 3)
    op = Dense(3)
    torch.testing.assert_close(Plain(op)((K, b), y[None])[0], torch.tanh(K @ y + b))
    torch.testing.assert_close(Gradient(op)((K, b), y[None])[0], -K.T @ torch.tanh(K @ y + b))
    ham = Hamiltonian(op, "relu")
    assert ham.partitioned
    torch.testing.assert_close(ham.dy((K, b), y[None])[0], torch.relu(K @ y + b))
    torch.testing.assert_close(ham.dz((K, b), y[None])[0], -torch.relu(K.T @ y + b))


def test_second_order_wraps_a_force(float64):
    (K, b), y, z = weights(3, 1), torch.linspace(-1.0, 1.0, 3)[None], torch.ones(1, 3)
    force = Gradient(Dense(3))
    so = SecondOrder(force)
    assert so.partitioned and so.operator is force.operator
    assert torch.equal(so.dy((K, b), z), z)
    assert torch.equal(so.dz((K, b), y), force((K, b), y))


def test_gradient_field_jacobian_is_symmetric_negative_semidefinite(float64):
    """-K^T diag(sigma') K for ANY K: symmetric, eigenvalues <= 0."""
    for seed in range(5):
        (K, b), y = weights(4, seed), torch.randn(4, generator=torch.Generator().manual_seed(9))
        K, b = 0.5 * K, 0.3 * b  # sigma' well away from 0, so the test is sensitive
        J = jacobian(lambda v, K=K, b=b: Gradient(Dense(4))((K, b), v[None])[0], y)
        torch.testing.assert_close(J, J.T, rtol=0, atol=1e-12)
        assert torch.linalg.eigvalsh(J).max() <= 1e-12
        assert torch.linalg.eigvalsh(J).min() < -1e-3  # not identically zero


def test_hamiltonian_jacobian_is_purely_imaginary_in_the_linear_case(float64):
    """For sigma = identity the Jacobian of (y, z) -> (dy(z), dz(y)) is [[0, K], [-K^T, 0]]."""
    (K, b), n = weights(3, 3), 3
    ham = Hamiltonian(Dense(n), "identity")

    def rhs(s):
        y, z = s[:n][None], s[n:][None]
        return torch.cat([ham.dy((K, b), z)[0], ham.dz((K, b), y)[0]])

    J = jacobian(rhs, torch.linspace(-1.0, 1.0, 2 * n))
    eig = torch.linalg.eigvals(J)
    assert eig.real.abs().max() < 1e-12
    assert eig.imag.abs().max() > 0.1


def test_setting_sigma_keeps_its_vjp_and_in_place_variant_in_step():
    """A field whose sigma is replaced (as analysis.spectra's linear twin does) gets the new
    activation's VJP and in-place variant too, not the old one's."""
    import copy

    from stablenet.activations import identity
    from stablenet.layers.fields import Plain

    field = Plain(Dense(3), "tanh")
    assert field.sigma is torch.tanh and field.sigma_fresh() is torch.tanh_
    g, s = torch.randn(4, 3), torch.rand(4, 3)
    torch.testing.assert_close(field.sigma_vjp(g, s.clone()), g * (1 - s * s))  # into s
    twin = copy.copy(field)
    twin.sigma = identity
    assert twin.sigma_fresh() is identity and field.sigma is torch.tanh
    torch.testing.assert_close(twin.sigma_vjp(g, s.clone()), g)
    assert Plain(Dense(3), lambda a: torch.tanh(a)).sigma_vjp is None  # a user's callable
