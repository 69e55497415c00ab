"""Preconditioned CG (stablenet.optim.cg) on explicit SPD systems."""

from __future__ import annotations

import torch

from stablenet.optim import pcg


def _spd(n: int, cond: float, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
    eig = torch.logspace(0, torch.log10(torch.tensor(cond)).item(), n, dtype=torch.float64)
    return q @ torch.diag(eig) @ q.T


def test_pcg_solves_an_spd_system():
    a = _spd(30, 1e3, 0)
    b = torch.randn(30, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    res = pcg(lambda v: a @ v, b, max_iters=300, rtol=1e-12)
    assert res.converged
    torch.testing.assert_close(res.x, torch.linalg.solve(a, b), rtol=1e-8, atol=1e-10)
    true_rel = torch.linalg.vector_norm(b - a @ res.x) / torch.linalg.vector_norm(b)
    assert float(true_rel) <= 1e-12 * 1.01


def test_pcg_terminates_in_at_most_n_iterations():
    a = _spd(8, 10.0, 2)
    b = torch.ones(8, dtype=torch.float64)
    res = pcg(lambda v: a @ v, b, max_iters=50, rtol=1e-10)
    assert res.converged and res.iters <= 8


def test_exact_preconditioner_converges_in_one_iteration():
    a = _spd(20, 1e4, 3)
    a_inv = torch.linalg.inv(a)
    b = torch.arange(20, dtype=torch.float64)
    res = pcg(lambda v: a @ v, b, lambda r: a_inv @ r, max_iters=5, rtol=1e-9)
    assert res.iters == 1 and res.converged
    torch.testing.assert_close(res.x, a_inv @ b)


def test_jacobi_preconditioner_cuts_iterations_on_a_badly_scaled_system():
    c = _spd(40, 5.0, 4)
    d = torch.logspace(-3, 3, 40, dtype=torch.float64).sqrt()
    a = d[:, None] * c * d[None, :]  # D^(1/2) C D^(1/2): the scaling makes it ill-conditioned
    b = torch.randn(40, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    plain = pcg(lambda v: a @ v, b, max_iters=400, rtol=1e-8)
    jacobi = pcg(lambda v: a @ v, b, lambda r: r / a.diagonal(), max_iters=400, rtol=1e-8)
    assert jacobi.converged
    torch.testing.assert_close(jacobi.x, torch.linalg.solve(a, b), rtol=1e-6, atol=1e-8)
    assert 2 * jacobi.iters < plain.iters


def test_truncated_cg_reports_its_true_residual():
    a = _spd(30, 1e4, 6)
    b = torch.ones(30, dtype=torch.float64)
    res = pcg(lambda v: a @ v, b, max_iters=3, rtol=1e-12)
    assert res.iters == 3 and not res.converged
    true_rel = torch.linalg.vector_norm(b - a @ res.x) / torch.linalg.vector_norm(b)
    assert abs(res.residual - float(true_rel)) < 1e-10


def test_zero_right_hand_side_gives_zero():
    res = pcg(lambda v: 2 * v, torch.zeros(4), max_iters=5)
    assert res.iters == 0 and res.converged and torch.equal(res.x, torch.zeros(4))


def test_negative_curvature_returns_preconditioned_rhs():
    b = torch.tensor([1.0, -2.0, 3.0])
    res = pcg(lambda v: -v, b, lambda r: 0.5 * r, max_iters=5)
    assert res.iters == 1 and not res.converged
    torch.testing.assert_close(res.x, 0.5 * b)
