"""The optimisers' metric on weights in time (stablenet.train.metric, stablenet.timemetric)."""

from __future__ import annotations

import math

import pytest
import torch

import stablenet as sn
from stablenet.data import ellipses
from stablenet.objective import objective
from stablenet.timemetric import TimeMetric, dct, idct
from stablenet.train.config import TrainConfig
from stablenet.train.metric import MetricLBFGS, time_metrics
from stablenet.train.optimizers import make_stepper


def _dense_q(n: int) -> torch.Tensor:
    j, k = torch.arange(n, dtype=torch.float64), torch.arange(n, dtype=torch.float64)
    q = torch.cos(math.pi * torch.outer(j + 0.5, k) / n)
    q[:, 0] *= math.sqrt(1.0 / n)
    q[:, 1:] *= math.sqrt(2.0 / n)
    return q


@pytest.mark.parametrize("n", [1, 2, 5, 8, 33])
def test_dct_is_the_orthonormal_dct_ii_basis(n, float64):
    x = torch.randn(n, 3, 2)
    q = _dense_q(n)
    torch.testing.assert_close(dct(x), torch.einsum("jk,jab->kab", q, x), rtol=0, atol=1e-13)
    torch.testing.assert_close(idct(x), torch.einsum("jk,kab->jab", q, x), rtol=0, atol=1e-13)


@pytest.mark.parametrize("alpha", [0.0, 0.05])
def test_metric_powers_invert_the_metric(alpha, float64):
    """M = h I + alpha/h D^T D by differences; M^-1 M = I and M^-1/2 M^-1/2 = M^-1."""
    m, v = TimeMetric(12, 0.25, alpha), torch.randn(12, 4)
    torch.testing.assert_close(m.power(m.apply(v), -1.0), v, rtol=0, atol=1e-12)
    torch.testing.assert_close(m.power(m.power(v, -0.5), -0.5), m.power(v, -1.0))
    d = torch.diff(torch.eye(12), dim=0)  # (D u)_j = u_{j+1} - u_j
    dense = 0.25 * torch.eye(12) + alpha / 0.25 * d.T @ d
    torch.testing.assert_close(m.apply(v), dense @ v)


def _toy(seed=0):
    g = torch.Generator().manual_seed(seed)
    A, c = torch.randn(6, 8, generator=g), torch.randn(6, generator=g)
    theta0 = torch.randn(8, generator=g)
    return A, c, theta0


def test_metric_lbfgs_is_lbfgs_on_the_coordinates_m_half_theta(float64):
    """A direct transcription: torch's L-BFGS on p = M^{1/2} theta, theta = M^{-1/2} p."""
    A, c, theta0 = _toy()
    metric = TimeMetric(8, 0.3, 0.1)

    def f(theta):
        return (torch.tanh(A @ theta) - c).pow(2).sum() + 0.1 * theta.pow(4).sum()

    theta = theta0.clone().requires_grad_()
    opt = MetricLBFGS([theta], {id(theta): metric}, max_iter=7, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = f(theta)
        loss.backward()
        return loss

    p = metric.power(theta0, 0.5).clone().requires_grad_()
    ref = torch.optim.LBFGS([p], max_iter=7, line_search_fn="strong_wolfe")

    def ref_closure():
        ref.zero_grad()
        loss = f(metric.power(p, -0.5))
        loss.backward()
        return loss

    for _ in range(3):
        opt.step(closure)
        ref.step(ref_closure)
    torch.testing.assert_close(theta.detach(), metric.power(p.detach(), -0.5),
                               rtol=1e-9, atol=1e-10)
    assert float(f(theta.detach())) < 0.5 * float(f(theta0))  # it did optimise


def test_sgd_takes_the_metric_gradient(float64):
    """One SGD step: theta_j -= lr (M^{-1} dL/dtheta)_j on block weights, plain elsewhere."""
    torch.manual_seed(0)
    model = sn.build_model("hamiltonian", (2,), 2, width=4, depth=8, T=2.0)
    x, y = torch.randn(20, 2), torch.randint(0, 2, (20,))
    config = TrainConfig(optimizer="sgd", lr=0.1, momentum=0.0, alpha=0.05, beta=0.0)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    loss, _ = objective(model, x, y, 0.05, 0.0)
    grads = dict(zip(before, torch.autograd.grad(loss, list(model.parameters())), strict=True))
    make_stepper(config, model).step(model, x, y)
    metric = TimeMetric(8, 0.25, 0.05)
    for name, p in model.named_parameters():
        g = metric.power(grads[name], -1.0) if name.startswith("blocks.") else grads[name]
        torch.testing.assert_close(p.detach(), before[name] - 0.1 * g)


def test_time_metrics_cover_the_block_weights_only():
    model = sn.build_model("leapfrog", (1, 8, 8), 3, [4, 8], [2, 6], 1.0)
    metrics = time_metrics(model, "sobolev", 0.01)
    ids = {id(b.K) for b in model.blocks} | {id(b.b) for b in model.blocks}
    assert set(metrics) == ids
    assert [metrics[id(b.K)].h for b in model.blocks] == [0.5, 1 / 6]
    assert time_metrics(model, "l2", 0.01)[id(model.blocks[0].K)].alpha == 0.0
    assert time_metrics(model, "euclidean", 0.01) == {}


def _iterations_to(loss_target, depth, metric):
    """L-BFGS iterations (the stepper of ``stablenet train``) until the objective < target."""
    torch.manual_seed(0)
    data = ellipses(n_train=100, n_val=1)
    x, y = data.x_train.double(), data.y_train
    model = sn.build_model("hamiltonian", (2,), 2, width=4, depth=depth, T=5.0).double()
    config = TrainConfig(optimizer="lbfgs", lr=1.0, alpha=5e-3, beta=1e-3, metric=metric)
    stepper = make_stepper(config, model)
    opt = stepper.optimizer
    opt.param_groups[0]["max_iter"] = 5  # count in steps of 5 iterations
    for _ in range(60):
        if stepper.step(model, x, y)["loss"] < loss_target:
            return opt.state[opt._params[0]]["n_iter"]
    return math.inf


def test_lbfgs_iterations_to_a_fixed_loss_do_not_grow_with_depth():
    """Sobolev metric (the default): about the same count at N = 8 and 16x deeper (measured on
    this problem, in steps of 5: 45, 65 and 50 iterations at N = 8, 128 and 512); asserted
    generously. In the Euclidean metric: 50, 70 and 140."""
    coarse = _iterations_to(0.1, 8, "sobolev")
    fine = _iterations_to(0.1, 128, "sobolev")
    assert coarse < math.inf and fine < 2 * coarse, (coarse, fine)
