"""Block coordinate descent, the paper's training algorithm (Haber & Ruthotto 2018;
docs/theory.md 5).

One outer iteration on a mini-batch ``(x, y)`` minimises
``f = mean CE(model(x), y) + regularization(model, alpha, beta)`` alternately over

1. the classifier ``(W, mu)`` with the network fixed: features ``Y = model.features(x)``
   computed once, then ``newton_iters`` inexact Newton-CG steps (exact Hessian products,
   warm start, Armijo) on the convex logistic regression (:mod:`.newton`);
2. the network ``theta`` (every parameter not in the classifier) with the classifier fixed:
   ``gn_iters`` Gauss-Newton-CG steps with the time-smoothness preconditioner and Armijo
   (:mod:`.gauss_newton`).

The caller draws a fresh mini-batch per step and keeps the best-validation weights. With
``curvature_subsample = m`` the Hessian / Gauss-Newton products of both phases use a
random subset of m rows of the batch (drawn from the optimizer's own seeded generator);
gradients and line searches use the whole batch. Parameters are read from the model on
every call, so blocks may be replaced (multilevel training) between steps. During a step
every block runs in ``Store()`` memory mode (the curvature products need the stored graph)
and batch-norm running statistics are updated once, by the feature pass.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..checks import nonnegative_int, nonnegative_real, positive_int, positive_real
from ..errors import ConfigError, DataError
from ..interfaces import StableModel
from .functional import check_model, frozen_batch_norm_stats, stored_graph, write_back
from .gauss_newton import GaussNewtonStats, NetworkProblem, network_gauss_newton
from .newton import classifier_newton
from .preconditioner import _neumann_eigen

_TOTALS = ("steps", "function_evals", "gradient_evals", "classifier_cg_iters",
           "network_cg_iters")


class BlockCoordinateDescent:
    """Alternating Newton-CG (classifier) / Gauss-Newton-CG (network) optimizer.

    Args:
        model: a stablenet model (``.classifier``, ``.blocks``); used only for checking,
            ``step`` takes the model to update.
        alpha: the weight of the time smoothness R_theta.
        beta: the weight of the classifier weight decay.
        newton_iters: Newton steps on the classifier per outer iteration (0 skips it).
        cg_iters: the most CG iterations per Newton / Gauss-Newton system.
        gn_iters: Gauss-Newton steps on the network per outer iteration (0 skips it).
        curvature_subsample: rows of the batch for the curvature products (None = all).
        seed: seed of the generator that draws the curvature subsamples.
        cg_rtol: relative residual at which CG stops (Newton also uses min(cg_rtol, |g|)).
        shift: the ``shift`` of the preconditioner ``alpha/h D^T D + shift``.
        damping: Levenberg-Marquardt damping added to the Gauss-Newton matrix.
        max_step: the largest entry of a network step (scaled down if larger; None: no cap).
    """

    def __init__(
        self, model: StableModel, alpha: float, beta: float, *, newton_iters: int = 3,
        cg_iters: int = 20, gn_iters: int = 2, curvature_subsample: int | None = None,
        seed: int = 0, cg_rtol: float = 0.1, shift: float = 1e-2, damping: float = 0.0,
        max_step: float | None = 1.0,
    ) -> None:
        check_model(model)
        self.alpha, self.beta = nonnegative_real("alpha", alpha), nonnegative_real("beta", beta)
        self.newton_iters = nonnegative_int("newton_iters", newton_iters)
        self.cg_iters = positive_int("cg_iters", cg_iters)
        self.gn_iters = nonnegative_int("gn_iters", gn_iters)
        if curvature_subsample is not None:
            positive_int("curvature_subsample", curvature_subsample)
        self.curvature_subsample = curvature_subsample
        self.cg_rtol = nonnegative_real("cg_rtol", cg_rtol)
        self.shift = positive_real(
            "shift (the preconditioner inverts alpha/h D^T D + shift, singular for shift = 0)",
            shift)
        self.damping = nonnegative_real("damping", damping)
        self.max_step = None if max_step is None else nonnegative_real("max_step", max_step)
        self.seed = nonnegative_int("seed", seed)
        self.generator = torch.Generator().manual_seed(self.seed)
        self.totals = dict.fromkeys(_TOTALS, 0)

    def reset(self, model: StableModel) -> None:
        """Optional after replacing the model's blocks: checks the model and drops the cached
        preconditioner bases (nothing else is cached; counters and generator are kept)."""
        check_model(model)
        _neumann_eigen.cache_clear()

    def _curvature_index(self, batch: int) -> Tensor | None:
        m = self.curvature_subsample
        if m is None or m >= batch:
            return None
        return torch.randperm(batch, generator=self.generator)[:m]

    def step(self, model: StableModel, x: Tensor, y: Tensor) -> dict[str, Any]:
        """One outer iteration on the batch ``(x, y)``; updates ``model`` in place.

        Returns the objective ``loss`` (CE + R), ``cross_entropy``, ``accuracy`` (and the
        ``correct`` count of the ``count`` examples) on the batch after the step, and the
        work done: Newton / Gauss-Newton steps and CG iterations of each phase (one CG
        iteration = one Hessian or Gauss-Newton product), ``function_evals`` /
        ``gradient_evals`` (objective and gradient evaluations of both phases, line-search
        trials included; the classifier's are on fixed features), ``network_function_evals``
        / ``network_gradient_evals`` (forward / backward propagations through the network,
        the feature pass included) and ``line_search_failures``.
        """
        check_model(model)
        if x.shape[0] != y.shape[0] or x.shape[0] == 0:
            raise DataError(f"x has {x.shape[0]} rows and y {y.shape[0]}; need equal, > 0")
        index = self._curvature_index(x.shape[0])
        with torch.no_grad():
            features = model.features(x)  # the step's one forward in train mode (BN stats)
        cls = classifier_newton(
            model.classifier, features, y, self.beta, iters=self.newton_iters,
            cg_iters=self.cg_iters, cg_rtol=self.cg_rtol, gtol=1e-7, curvature_index=index,
        )
        with frozen_batch_norm_stats(model), stored_graph(model):
            problem = NetworkProblem(model, self.alpha, self.beta, x, y)
            net = self._network_phase(problem, index)
            if net.iters > net.line_search_failures:  # the last accepted trial point
                loss, ce, acc, extra = net.value, net.cross_entropy, net.accuracy, 0
            else:
                loss, (ce, acc) = problem.evaluate(problem.theta0)
                extra = 1
        info = {
            "loss": loss, "cross_entropy": ce, "accuracy": acc,
            "correct": round(acc * x.shape[0]), "count": int(x.shape[0]),
            "classifier_newton_iters": cls.iters, "classifier_cg_iters": cls.cg_iters,
            "network_gn_iters": net.iters, "network_cg_iters": net.cg_iters,
            "function_evals": cls.function_evals + net.function_evals + extra,
            "gradient_evals": cls.gradient_evals + net.gradient_evals,
            "network_function_evals": net.function_evals + extra + 1,
            "network_gradient_evals": net.gradient_evals,
            "line_search_failures": cls.line_search_failures + net.line_search_failures,
        }
        self.totals["steps"] += 1
        for key in _TOTALS[1:]:
            self.totals[key] += info[key]
        return info

    def _network_phase(self, problem: NetworkProblem, index: Tensor | None) -> GaussNewtonStats:
        """Gauss-Newton-CG on the network; writes the result into the model."""
        if not (self.gn_iters and problem.params):
            return GaussNewtonStats()
        theta, stats = network_gauss_newton(
            problem, iters=self.gn_iters, cg_iters=self.cg_iters, cg_rtol=self.cg_rtol,
            shift=self.shift, damping=self.damping, max_step=self.max_step,
            curvature_index=index,
        )
        write_back(problem.params, theta)
        return stats

    def state_dict(self) -> dict[str, Any]:
        """Counters and the subsampling generator's state (the options are not included:
        rebuild the optimizer with the same arguments, then load)."""
        return {"totals": dict(self.totals), "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        if not isinstance(state, dict) or not {"totals", "generator"} <= state.keys():
            raise ConfigError("not a BlockCoordinateDescent state (needs 'totals', 'generator')")
        self.totals = dict.fromkeys(_TOTALS, 0) | {k: int(v) for k, v in state["totals"].items()}
        self.generator.set_state(state["generator"])
