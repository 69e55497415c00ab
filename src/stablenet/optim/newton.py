"""Inexact Newton-CG with Armijo line search, and its use for the classifier subproblem.

With the features ``Y = model.features(x)`` fixed, the classifier problem

    min_{W, mu}  1/B sum_i CE(W y_i + mu, c_i) + beta/2 (|W|_F^2 + |mu|^2)

is a convex multinomial logistic regression (strictly convex for beta > 0). Each Newton
iteration solves ``H d = -g`` approximately by CG on exact Hessian-vector products
(``torch.func.vjp`` of ``torch.func.grad``: reverse over reverse, ``H^T v = H v``; the
graph is built once per Newton iteration and each product is one backward pass), with the
forcing term ``|H d + g| <= min(rtol, |g|) |g|`` (so the local convergence is quadratic),
then takes an Armijo step along d. It starts (warm) from the classifier's current weights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, grad, grad_and_value, vjp

from .cg import pcg
from .functional import SolverStats, flatten, unflatten, weight_decay_fn, write_back
from .linesearch import armijo

Objective = Callable[[Tensor], Tensor]


@dataclass
class NewtonStats(SolverStats):
    """Counters of one Newton-CG run; ``grad_norms[k]`` = |g| at iterate k (the last
    entry is at the returned point), ``value`` the objective there."""

    hessian_products: int = 0
    grad_norms: list[float] = field(default_factory=list)


def newton_cg(
    f: Objective, x: Tensor, *, iters: int, cg_iters: int, cg_rtol: float = 0.1,
    gtol: float = 0.0, curvature: Objective | None = None,
) -> tuple[Tensor, NewtonStats]:
    """Minimise ``f`` (flat vector -> scalar) from ``x`` by ``iters`` Newton-CG steps.

    ``curvature`` (default ``f``) is the function whose Hessian is used (e.g. ``f`` on a
    subsample of the data). Stops early when ``|g| <= gtol`` or the line search fails.
    """
    stats = NewtonStats()
    hess_f = f if curvature is None else curvature
    g, value = grad_and_value(f)(x)
    stats.gradient_evals += 1
    stats.function_evals += 1
    for _ in range(iters):
        g_norm = float(torch.linalg.vector_norm(g))
        stats.grad_norms.append(g_norm)
        if g_norm <= gtol:
            break

        _, hvp_fn = vjp(grad(hess_f), x)  # v -> Hess f(x) v (the Hessian is symmetric)
        res = pcg(
            lambda v, hvp_fn=hvp_fn: hvp_fn(v)[0], -g, max_iters=cg_iters,
            rtol=min(cg_rtol, g_norm),
        )
        stats.cg_iters += res.iters
        stats.hessian_products += res.iters
        d = res.x
        slope = float(torch.dot(g, d))
        if not slope < 0:
            d, slope = -g, -g_norm**2

        def phi(t: float, x=x, d=d) -> tuple[float, None]:
            return float(f(x + t * d)), None

        ls = armijo(phi, float(value), slope)
        if not stats.record_line_search(ls.trials, ls.step):
            break
        x = x + ls.step * d
        g, value = grad_and_value(f)(x)
        stats.gradient_evals += 1
        stats.function_evals += 1
    else:
        stats.grad_norms.append(float(torch.linalg.vector_norm(g)))
    stats.value = float(value)
    return x, stats


def classifier_objective(
    classifier: nn.Linear, beta: float
) -> tuple[dict[str, Tensor], Callable[[Tensor, Tensor], Objective]]:
    """``(params, make)`` where ``make(features, y)`` is ``(W, mu) -> CE + weight decay``
    on those (fixed) features, as a function of the flat classifier vector."""
    params = {k: p for k, p in classifier.named_parameters() if p.requires_grad}
    decay = weight_decay_fn(classifier, params, beta)

    def make(feat: Tensor, labels: Tensor) -> Objective:
        def f(vec: Tensor) -> Tensor:
            logits = functional_call(classifier, unflatten(vec, params), (feat,))
            return F.cross_entropy(logits, labels) + decay(vec)

        return f

    return params, make


def classifier_newton(
    classifier: nn.Linear, features: Tensor, y: Tensor, beta: float, *, iters: int,
    cg_iters: int, cg_rtol: float = 0.1, gtol: float = 0.0, curvature_index: Tensor | None = None,
) -> NewtonStats:
    """Newton-CG on the classifier with the (detached) ``features`` fixed; updates the
    classifier's parameters in place. ``curvature_index`` selects the rows used for the
    Hessian products (all rows when None)."""
    features = features.detach()
    params, make = classifier_objective(classifier, beta)
    f = make(features, y)
    curvature = None
    if curvature_index is not None:
        curvature = make(features[curvature_index], y[curvature_index])
    x, stats = newton_cg(
        f, flatten(params), iters=iters, cg_iters=cg_iters, cg_rtol=cg_rtol, gtol=gtol,
        curvature=curvature,
    )
    write_back(params, x)
    return stats
