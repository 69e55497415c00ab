"""How the free weights K map to the operator actually applied (one expression over dim 0).

* :class:`Free`: the operator is K itself.
* :class:`Antisymmetric`: the operator is 1/2 (K - K^T - gamma I) (Haber & Ruthotto 2018, eq. 4.12).
  K - K^T has a purely imaginary spectrum i w; the shift -gamma/2 moves it into the
  forward-Euler stability disc |1 + h lambda| <= 1 when gamma >= about h w^2. For
  convolutions K^T is the adjoint (transposed) convolution, so the same formula holds for
  the materialised operator.

The map is applied once per forward pass to the whole stack ``K: [N, ...]``, so the
loop over layers only sees ready-made weights.
"""

from __future__ import annotations

from torch import Tensor

from ..checks import nonnegative_real, positive_real
from ..errors import ConfigError
from ..interfaces import Integrator, Operator

PAPER_GAMMA = 2e-4
"""The authors' damping gamma (Haber & Ruthotto 2018, their code): ``gamma=PAPER_GAMMA``
(``--gamma 2e-4``) gives the paper's network. At every practical step h forward Euler is
slightly unstable with it (it needs gamma >= about h w^2), so it is not the default."""


def default_gamma(T: float, integrator: Integrator | None = None) -> float:
    """The default damping of an antisymmetric network on [0, T]: gamma = 2 / T (0 for an
    ``integrator`` whose stability region is a segment of the imaginary axis, such as the
    midpoint rule: any damping moves the spectrum off it).

    The ODE y' = sigma(1/2 (K - K^T - gamma I) y + b) then shrinks a linearised feature by
    e^{-gamma T / 2} = 1/e over [0, T], whatever T and N: the same continuous network at
    every depth (gamma does not depend on h), and forward Euler's condition
    h w^2 <= gamma (about) holds for N >= T^2 w^2 / 2 layers: |w| <= 1.1 at the 2-D
    defaults (T = 10, N = 64), about 1.3 at the image defaults (T = 2, N = 4). docs/depth.md
    ("The antisymmetric network's damping") gives the measurements behind the choice.
    """
    T = positive_real("T (the final time)", T)
    return 0.0 if getattr(integrator, "imaginary_axis", False) else 2.0 / T


class Free:
    """K_eff = K."""

    name = "free"

    def __call__(self, K: Tensor, operator: Operator) -> Tensor:
        return K

    def __repr__(self) -> str:
        return "Free()"


class Antisymmetric:
    """K_eff = 1/2 (K - K^T) - gamma/2 I; its eigenvalues have real part exactly -gamma/2.

    ``gamma=None`` (the default) is :func:`default_gamma` of the block it is given to
    (``StableBlock(..., parametrization=Antisymmetric())`` gets gamma = 2 / T through
    :meth:`for_span`); a gamma left unset cannot be applied on its own.
    """

    name = "antisymmetric"

    def __init__(self, gamma: float | None = None) -> None:
        self.gamma = None if gamma is None else nonnegative_real(
            f"gamma (the damping of the antisymmetric network; the default is 2 / T, the "
            f"authors use {PAPER_GAMMA:g})", gamma)

    def for_span(self, T: float, integrator: Integrator | None = None) -> Antisymmetric:
        """This parametrisation for a block on [0, T] integrated by ``integrator``: an unset
        gamma becomes :func:`default_gamma` (2 / T; 0 for the midpoint rule)."""
        return self if self.gamma is not None else Antisymmetric(default_gamma(T, integrator))

    def __call__(self, K: Tensor, operator: Operator) -> Tensor:
        if self.gamma is None:
            raise ConfigError("Antisymmetric() without gamma takes its default 2 / T from "
                              "the block it is given to; outside a block pass gamma=...")
        return 0.5 * (K - operator.transpose(K)) - 0.5 * self.gamma * operator.identity(K)

    def __repr__(self) -> str:
        gamma = "2/T" if self.gamma is None else f"{self.gamma:g}"
        return f"Antisymmetric(gamma={gamma})"
