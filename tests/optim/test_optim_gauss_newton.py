"""Gauss-Newton products against the explicit J^T H J + Hess R (dense and conv networks)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.func import jacrev

from stablenet import build_model
from stablenet.objective import regularization
from stablenet.optim import (
    NetworkProblem,
    gauss_newton_operator,
    network_gauss_newton,
    network_gradient,
)
from stablenet.optim.functional import frozen_batch_norm_stats

ALPHA, BETA = 0.3, 0.1


def _dense_model():
    torch.manual_seed(0)
    model = build_model("resnet", (3,), 3, width=4, depth=3, T=1.0, opening="linear",
                        bias="feature")
    x = torch.randn(6, 3)
    return model, x, torch.tensor([0, 1, 2, 0, 1, 2])


def _conv_model():
    torch.manual_seed(1)
    model = build_model("hamiltonian", (1, 4, 4), 2, width=[2, 2], depth=2, T=1.0)
    model.train()  # batch norm normalises with the batch statistics (couples the examples)
    x = torch.randn(4, 1, 4, 4)
    return model, x, torch.tensor([0, 1, 1, 0])


def _regularizer_hessian(problem):
    """Hess R over theta, transcribed: alpha/h D^T D (x) I on each block's K and b, 0 else."""
    blocks = {}
    for block in problem.model.blocks:
        blocks[id(block.K)] = blocks[id(block.b)] = block
    sizes = [p.numel() for p in problem.params.values()]
    hess = torch.zeros(sum(sizes), sum(sizes))
    start = 0
    for p, size in zip(problem.params.values(), sizes, strict=True):
        if id(p) in blocks:
            n = p.shape[0]
            d = torch.zeros(n - 1, n)
            d[range(n - 1), range(n - 1)], d[range(n - 1), range(1, n)] = -1.0, 1.0
            block_h = blocks[id(p)].h
            hess[start:start + size, start:start + size] = ALPHA / block_h * torch.kron(
                d.T @ d, torch.eye(size // n)
            )
        start += size
    return hess


def _explicit_gauss_newton(problem):
    theta = problem.theta0
    jac = jacrev(lambda t: problem.logits(t, problem.x))(theta)  # [B, m, P]
    p = torch.softmax(problem.logits(theta, problem.x), dim=-1).detach()
    batch = p.shape[0]
    g = torch.zeros(theta.numel(), theta.numel())
    for i in range(batch):
        h_i = (torch.diag(p[i]) - torch.outer(p[i], p[i])) / batch
        g += jac[i].T @ h_i @ jac[i]
    return g + _regularizer_hessian(problem)


@pytest.mark.parametrize("make", [_dense_model, _conv_model], ids=["dense", "conv"])
def test_gauss_newton_products_equal_explicit_matrix(float64, make):
    model, x, y = make()
    model.double()
    with frozen_batch_norm_stats(model):
        problem = NetworkProblem(model, ALPHA, BETA, x.double(), y)
        explicit = _explicit_gauss_newton(problem)
        matvec = gauss_newton_operator(problem, problem.theta0, problem.x)[0]
        eye = torch.eye(problem.theta0.numel())
        operator = torch.stack([matvec(e) for e in eye], dim=1)
    assert float(explicit.abs().max()) > 1e-3  # not trivially zero
    torch.testing.assert_close(operator, explicit, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("make", [_dense_model, _conv_model], ids=["dense", "conv"])
def test_network_gradient_is_the_autograd_gradient(float64, make):
    model, x, y = make()
    model.double()
    with frozen_batch_norm_stats(model):
        problem = NetworkProblem(model, ALPHA, BETA, x.double(), y)
        ours = network_gradient(problem, problem.theta0)
        loss = F.cross_entropy(model(problem.x), y) + regularization(model, ALPHA, BETA)
    params = list(problem.params.values())
    expected = torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params)])
    torch.testing.assert_close(ours, expected)


def test_preconditioner_inverts_regularizer_hessian_plus_shift(float64):
    model, x, y = _dense_model()
    model.double()
    problem = NetworkProblem(model, ALPHA, BETA, x.double(), y)
    shift = 0.05
    dense = _regularizer_hessian(problem) + shift * torch.eye(problem.theta0.numel())
    v = torch.randn(problem.theta0.numel())
    torch.testing.assert_close(problem.preconditioner(shift)(v), torch.linalg.solve(dense, v))


def test_damping_adds_a_multiple_of_the_identity(float64):
    model, x, y = _dense_model()
    model.double()
    problem = NetworkProblem(model, ALPHA, BETA, x.double(), y)
    plain = gauss_newton_operator(problem, problem.theta0, problem.x)[0]
    damped = gauss_newton_operator(problem, problem.theta0, problem.x, damping=0.7)[0]
    v = torch.randn(problem.theta0.numel())
    torch.testing.assert_close(damped(v), plain(v) + 0.7 * v)


def test_gauss_newton_steps_decrease_the_objective():
    model, x, y = _dense_model()
    problem = NetworkProblem(model, ALPHA, BETA, x, y)
    f0 = problem.evaluate(problem.theta0)[0]
    theta, stats = network_gauss_newton(problem, iters=3, cg_iters=20, shift=1e-2)
    assert stats.iters == 3 and stats.line_search_failures == 0 and stats.cg_iters > 0
    assert stats.value < f0
    assert stats.value == pytest.approx(problem.evaluate(theta)[0], rel=1e-6)
    # the model itself is untouched until the caller writes theta back
    assert torch.equal(problem.theta0, NetworkProblem(model, ALPHA, BETA, x, y).theta0)
