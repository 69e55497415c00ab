"""The time-smoothness preconditioner: the exact inverse of alpha/h D^T D + shift."""

from __future__ import annotations

import pytest
import torch

from stablenet import ConfigError, ResNet
from stablenet.objective import smoothness
from stablenet.optim import (
    neumann_laplacian_eigen,
    time_smoothness_apply,
    time_smoothness_solve,
)


def _dense(n: int, alpha: float, h: float, shift: float) -> torch.Tensor:
    """alpha/h D^T D + shift I with D the (n-1) x n forward difference, transcribed."""
    d = torch.zeros(n - 1, n, dtype=torch.float64)
    for j in range(n - 1):
        d[j, j], d[j, j + 1] = -1.0, 1.0
    return alpha / h * d.T @ d + shift * torch.eye(n, dtype=torch.float64)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 16])
@pytest.mark.parametrize("tail", [(), (3,), (2, 3)])
def test_solve_is_the_exact_inverse_of_the_dense_matrix(n, tail):
    alpha, h, shift = 0.7, 0.25, 0.05
    v = torch.randn(n, *tail, dtype=torch.float64, generator=torch.Generator().manual_seed(n))
    m = _dense(n, alpha, h, shift)
    expected = torch.linalg.solve(m, v.reshape(n, -1)).reshape(v.shape)
    torch.testing.assert_close(time_smoothness_solve(v, alpha, h, shift), expected)
    applied = (m @ v.reshape(n, -1)).reshape(v.shape)
    torch.testing.assert_close(time_smoothness_apply(v, alpha, h, shift), applied)
    back = time_smoothness_apply(time_smoothness_solve(v, alpha, h, shift), alpha, h, shift)
    torch.testing.assert_close(back, v)


def test_neumann_eigenbasis_diagonalises_the_laplacian():
    n = 9
    q, lam = neumann_laplacian_eigen(n)
    torch.testing.assert_close(q.T @ q, torch.eye(n, dtype=torch.float64))
    torch.testing.assert_close(q @ torch.diag(lam) @ q.T, _dense(n, 1.0, 1.0, 0.0))


def test_solve_keeps_dtype():
    v = torch.randn(5, 4)
    assert time_smoothness_solve(v, 1.0, 0.5, 1e-2).dtype == torch.float32


def test_the_preconditioned_operator_is_the_smoothness_hessian(float64):
    block = ResNet(3, 6, T=2.0, bias="feature")
    alpha = 0.3
    for theta in (block.K, block.b):
        (grad,) = torch.autograd.grad(smoothness(block, alpha), theta)
        # R is quadratic and even: grad R(theta) = (alpha/h D^T D) theta
        torch.testing.assert_close(grad, time_smoothness_apply(theta.detach(), alpha, block.h, 0.0))


@pytest.mark.parametrize("shift", [0.0, -1.0])
def test_non_positive_shift_is_refused(shift):
    with pytest.raises(ConfigError, match="shift"):
        time_smoothness_solve(torch.ones(3), 1.0, 1.0, shift)
