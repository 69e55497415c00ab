"""Newton-CG on the convex classifier problem (multinomial logistic regression)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from stablenet.optim import classifier_newton, newton_cg


def _problem(b=200, n=4, m=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    y_feat = torch.randn(b, n, dtype=torch.float64, generator=g)
    w_true = torch.randn(m, n, dtype=torch.float64, generator=g)
    noise = 0.8 * torch.randn(b, m, dtype=torch.float64, generator=g)
    labels = (y_feat @ w_true.T + noise).argmax(dim=1)
    torch.manual_seed(seed)
    return y_feat, labels, nn.Linear(n, m).double()


def _objective(lin, feats, labels, beta):
    """Direct transcription: mean CE(W y + mu) + beta/2 (|W|^2 + |mu|^2)."""
    return F.cross_entropy(feats @ lin.weight.T + lin.bias, labels) + 0.5 * beta * (
        lin.weight.pow(2).sum() + lin.bias.pow(2).sum()
    )


def test_newton_converges_quadratically():
    feats, labels, lin = _problem()
    stats = classifier_newton(lin, feats, labels, 1e-2, iters=12, cg_iters=100, gtol=1e-11)
    g = stats.grad_norms
    # pairs in the local regime and above the float64 round-off floor
    local = [(a, b) for a, b in zip(g, g[1:], strict=False) if a < 1e-2 and b > 1e-13]
    assert len(local) >= 2
    # measured g_{k+1} / g_k^2 ~ 6-7 on this problem; linear convergence would blow this up
    for a, b in local:
        assert b <= 20.0 * a * a
    a, b = local[-1]
    assert math.log(b) / math.log(a) > 1.7
    assert g[-1] <= 1e-11


def test_newton_reaches_the_minimiser_and_descends_monotonically():
    feats, labels, lin = _problem(seed=1)
    beta = 1e-2
    values = [_objective(lin, feats, labels, beta).item()]
    for _ in range(6):
        classifier_newton(lin, feats, labels, beta, iters=1, cg_iters=50)
        values.append(_objective(lin, feats, labels, beta).item())
    assert all(b <= a + 1e-15 for a, b in zip(values, values[1:], strict=False))
    loss = _objective(lin, feats, labels, beta)
    grads = torch.autograd.grad(loss, [lin.weight, lin.bias])
    assert max(float(gr.abs().max()) for gr in grads) < 1e-9


def test_classifier_newton_keeps_parameter_identity_and_warm_starts():
    feats, labels, lin = _problem(seed=2)
    weight = lin.weight
    classifier_newton(lin, feats, labels, 1e-2, iters=10, cg_iters=50)
    assert lin.weight is weight
    # warm start from the optimum: the first gradient is already below gtol, no step taken
    stats = classifier_newton(lin, feats, labels, 1e-2, iters=5, cg_iters=50, gtol=1e-8)
    assert stats.iters == 0 and stats.cg_iters == 0 and stats.grad_norms[0] <= 1e-8


def test_subsampled_curvature_still_converges_to_the_full_minimiser():
    feats, labels, lin = _problem(b=300, seed=3)
    index = torch.randperm(300, generator=torch.Generator().manual_seed(0))[:100]
    stats = classifier_newton(
        lin, feats, labels, 1e-2, iters=20, cg_iters=50, curvature_index=index, gtol=1e-8
    )
    assert stats.grad_norms[-1] <= 1e-8
    grads = torch.autograd.grad(_objective(lin, feats, labels, 1e-2), [lin.weight, lin.bias])
    assert max(float(gr.abs().max()) for gr in grads) < 1e-8


def test_newton_cg_on_a_quadratic_is_exact_in_one_step():
    a = torch.tensor([[3.0, 1.0], [1.0, 2.0]], dtype=torch.float64)
    c = torch.tensor([1.0, -1.0], dtype=torch.float64)

    def f(x):
        return 0.5 * x @ a @ x - c @ x

    x, stats = newton_cg(f, torch.zeros(2, dtype=torch.float64), iters=1, cg_iters=5,
                         cg_rtol=1e-12)
    torch.testing.assert_close(x, torch.linalg.solve(a, c))
    assert stats.iters == 1 and stats.cg_iters == 2 and stats.function_evals == 3


@pytest.mark.parametrize("iters", [0, 2])
def test_stats_count_the_evaluations(iters):
    feats, labels, lin = _problem(seed=4)
    stats = classifier_newton(lin, feats, labels, 1e-2, iters=iters, cg_iters=5)
    assert stats.iters == iters and len(stats.grad_norms) == iters + 1
    assert stats.gradient_evals == iters + 1
    assert stats.hessian_products == stats.cg_iters
    assert math.isclose(stats.value, _objective(lin, feats, labels, 1e-2).item(), rel_tol=1e-12)
