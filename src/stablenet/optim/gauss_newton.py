"""Gauss-Newton-CG for the network subproblem (classifier fixed).

With ``z(theta) = model(x)`` the logits and the classifier fixed, the network problem is
``f(theta) = 1/B sum_i CE(z_i(theta), c_i) + R(theta)``. Its Gauss-Newton matrix is

    G = J^T H J + Hess R,    H = blockdiag_i (diag(p_i) - p_i p_i^T) / B,  p_i = softmax(z_i)

(J = dz/dtheta), applied matrix-free through the forward propagation: ``J^T u`` by reverse
mode (``torch.func.vjp``) and ``J v`` as the vjp of ``u -> J^T u`` (see
:func:`gauss_newton_operator`); ``Hess R v`` is the exact Hessian-vector product of
``stablenet.objective.regularization``. Each step solves ``(G + lambda I) d = -g``
by CG preconditioned with ``(alpha/h D^T D + shift)^{-1}`` on the stacked block weights
(``shift^{-1}`` on the other network parameters), then an Armijo line search on the true
objective.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.func import functional_call, grad, vjp

from ..interfaces import StableModel
from .cg import pcg
from .functional import (
    SolverStats,
    accuracy,
    flatten,
    regularizer_fn,
    split_parameters,
    unflatten,
)
from .linesearch import armijo
from .preconditioner import time_smoothness_solve

MatVec = Callable[[Tensor], Tensor]


class NetworkProblem:
    """The network subproblem on a batch ``(x, y)`` as functions of the flat ``theta``.

    The parameter list is read from the model when the problem is made (one per step).
    """

    def __init__(self, model: StableModel, alpha: float, beta: float, x: Tensor, y: Tensor):
        self.model, self.alpha, self.x, self.y = model, alpha, x, y
        self.params, classifier = split_parameters(model)
        self.fixed = {k: v.detach() for k, v in classifier.items()}
        self.theta0 = flatten(self.params)
        self.regularizer = regularizer_fn(model, self.params, alpha, beta)

    def logits(self, theta: Tensor, x: Tensor) -> Tensor:
        """z(theta) = model(x) with the network parameters set to ``theta``."""
        return functional_call(self.model, {**unflatten(theta, self.params), **self.fixed}, (x,))

    def objective(self, theta: Tensor) -> Tensor:
        """f(theta) = mean CE(z(theta), y) + R(theta) on the whole batch."""
        return F.cross_entropy(self.logits(theta, self.x), self.y) + self.regularizer(theta)

    def evaluate(self, theta: Tensor) -> tuple[float, tuple[float, float]]:
        """``(f, (cross_entropy, accuracy))`` at ``theta``, without derivatives."""
        with torch.no_grad():
            z = self.logits(theta, self.x)
            ce = F.cross_entropy(z, self.y)
            return float(ce + self.regularizer(theta)), (float(ce), accuracy(z, self.y))

    def preconditioner(self, shift: float) -> MatVec:
        """v -> (alpha/h D^T D + shift)^{-1} v on block weights, v / shift elsewhere."""
        steps = {}
        for block in self.model.blocks:
            steps[id(block.K)] = steps[id(block.b)] = block.h
        hs = [steps.get(id(p)) for p in self.params.values()]

        def apply(v: Tensor) -> Tensor:
            parts = unflatten(v, self.params).values()
            out = [
                p / shift if h is None else time_smoothness_solve(p, self.alpha, h, shift)
                for p, h in zip(parts, hs, strict=True)
            ]
            return torch.cat([o.reshape(-1) for o in out])

        return apply


def gauss_newton_operator(
    problem: NetworkProblem, theta: Tensor, x: Tensor, damping: float = 0.0
) -> tuple[MatVec, Tensor, Callable]:
    """``(v -> (J^T H J + Hess R + damping) v, logits, vjp_fn)`` at ``theta`` on inputs ``x``.

    ``vjp_fn(u) = (J^T u,)`` from one forward pass; ``J v`` is the vjp of the (linear) map
    ``u -> J^T u`` (reverse over reverse: the same exact product as forward mode, measured
    several times faster than ``torch.func.jvp`` on these deep, thin networks since it
    reuses the stored graph instead of re-running the forward propagation).
    """

    def logits_of(t: Tensor) -> Tensor:
        return problem.logits(t, x)

    z, vjp_fn = vjp(logits_of, theta)
    _, jvp_fn = vjp(lambda u: vjp_fn(u)[0], torch.zeros_like(z))
    _, reg_hvp = vjp(grad(problem.regularizer), theta)
    p = torch.softmax(z.detach(), dim=-1)
    scale = 1.0 / z.shape[0]

    def matvec(v: Tensor) -> Tensor:
        jv = jvp_fn(v)[0]
        hjv = scale * (p * jv - p * (p * jv).sum(dim=-1, keepdim=True))
        out = vjp_fn(hjv)[0] + reg_hvp(v)[0]
        return out + damping * v if damping else out

    return matvec, z, vjp_fn


@dataclass
class GaussNewtonStats(SolverStats):
    """Counters of a Gauss-Newton run; ``value``, ``cross_entropy`` and ``accuracy`` are at
    the last accepted point (NaN if none), ``step_norm`` = |t d| of the last accepted step."""

    cross_entropy: float = float("nan")
    accuracy: float = float("nan")
    step_norm: float = 0.0


def network_gradient(
    problem: NetworkProblem, theta: Tensor, z: Tensor | None = None,
    vjp_fn: Callable | None = None,
) -> Tensor:
    """grad f = J^T (softmax(z) - onehot(y)) / B + grad R on the whole batch.

    ``z, vjp_fn`` (from :func:`gauss_newton_operator` on ``problem.x``) reuse that forward.
    """
    if z is None or vjp_fn is None:
        z, vjp_fn = vjp(lambda t: problem.logits(t, problem.x), theta)
    residual = torch.softmax(z.detach(), dim=-1)
    residual[torch.arange(len(problem.y), device=z.device), problem.y] -= 1.0
    return vjp_fn(residual / z.shape[0])[0] + grad(problem.regularizer)(theta)


def network_gauss_newton(
    problem: NetworkProblem, *, iters: int, cg_iters: int, cg_rtol: float = 0.1,
    shift: float = 1.0, damping: float = 0.0, max_step: float | None = None,
    curvature_index: Tensor | None = None,
) -> tuple[Tensor, GaussNewtonStats]:
    """``iters`` Gauss-Newton-CG steps with Armijo line search from ``problem.theta0``.

    Returns the final flat ``theta`` (not written to the model) and counters; ``value``,
    ``cross_entropy`` and ``accuracy`` are those of the last accepted point (NaN if none).
    """
    stats = GaussNewtonStats()
    theta = problem.theta0
    precond = problem.preconditioner(shift)
    for _ in range(iters):
        matvec, z, vjp_fn = gauss_newton_operator(problem, theta, problem.x, damping)
        g = network_gradient(problem, theta, z, vjp_fn)
        with torch.no_grad():
            f0 = float(F.cross_entropy(z, problem.y) + problem.regularizer(theta))
        stats.function_evals += 1
        stats.gradient_evals += 1
        if curvature_index is not None:
            xc = problem.x[curvature_index]
            matvec = gauss_newton_operator(problem, theta, xc, damping)[0]
        res = pcg(matvec, -g, precond, max_iters=cg_iters, rtol=cg_rtol)
        stats.cg_iters += res.iters
        d = res.x
        if max_step is not None and float(d.abs().max()) > max_step:
            d = d * (max_step / float(d.abs().max()))
        slope = float(torch.dot(g, d))
        if not slope < 0:
            d, slope = -g, -float(torch.dot(g, g))
        ls = armijo(lambda t, theta=theta, d=d: problem.evaluate(theta + t * d), f0, slope)
        if not stats.record_line_search(ls.trials, ls.step):
            break
        theta = theta + ls.step * d
        stats.step_norm = ls.step * float(torch.linalg.vector_norm(d))
        stats.value, (stats.cross_entropy, stats.accuracy) = ls.value, ls.aux
    return theta, stats
