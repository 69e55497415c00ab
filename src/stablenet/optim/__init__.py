"""Second-order optimizers of the paper (Haber & Ruthotto 2018, arXiv 1705.03341; docs/theory.md 5).

* :class:`BlockCoordinateDescent`: alternate inexact Newton-CG on the classifier and
  Gauss-Newton-CG on the network, one outer iteration per mini-batch.
* Building blocks: :func:`pcg` (preconditioned CG), :func:`armijo` (line search),
  :func:`newton_cg` / :func:`classifier_newton`, :class:`NetworkProblem` /
  :func:`gauss_newton_operator` / :func:`network_gauss_newton`, and the time-smoothness
  preconditioner :func:`time_smoothness_solve` = ``(alpha/h D^T D + shift)^{-1}``.
"""

from .bcd import BlockCoordinateDescent
from .cg import CGResult, pcg
from .gauss_newton import (
    NetworkProblem,
    gauss_newton_operator,
    network_gauss_newton,
    network_gradient,
)
from .linesearch import LineSearchResult, armijo
from .newton import NewtonStats, classifier_newton, newton_cg
from .preconditioner import (
    neumann_laplacian_eigen,
    time_smoothness_apply,
    time_smoothness_solve,
)

__all__ = [
    "BlockCoordinateDescent", "CGResult", "LineSearchResult", "NetworkProblem", "NewtonStats",
    "armijo", "classifier_newton", "gauss_newton_operator", "network_gauss_newton",
    "network_gradient", "neumann_laplacian_eigen", "newton_cg", "pcg", "time_smoothness_apply",
    "time_smoothness_solve",
]
