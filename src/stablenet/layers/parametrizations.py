"""How the free weights K map to the operator actually applied (one expression over dim 0).

* :class:`Free`: the operator is K itself.
* :class:`Antisymmetric`: the operator is 1/2 (K - K^T - gamma I) (Haber & Ruthotto 2018, eq. 4.12).
  K - K^T has a purely imaginary spectrum; the shift -gamma/2 moves it just inside the
  forward-Euler stability disc |1 + h lambda| <= 1. For convolutions K^T is the adjoint
  (transposed) convolution, so the same formula holds for the materialised operator.

The map is applied once per forward pass to the whole stack ``K: [N, ...]``, so the
loop over layers only sees ready-made weights.
"""

from __future__ import annotations

from torch import Tensor

from ..checks import nonnegative_real
from ..interfaces import Operator

DEFAULT_GAMMA = 2e-4
"""The damping gamma of the antisymmetric network, the authors' value; every default of
gamma in the library (blocks, models, training, the command line) is this constant."""


class Free:
    """K_eff = K."""

    name = "free"

    def __call__(self, K: Tensor, operator: Operator) -> Tensor:
        return K

    def __repr__(self) -> str:
        return "Free()"


class Antisymmetric:
    """K_eff = 1/2 (K - K^T) - gamma/2 I; its eigenvalues have real part exactly -gamma/2."""

    name = "antisymmetric"

    def __init__(self, gamma: float = DEFAULT_GAMMA) -> None:
        self.gamma = nonnegative_real(
            f"gamma (the damping of the antisymmetric network; the authors use "
            f"{DEFAULT_GAMMA:g})", gamma)

    def __call__(self, K: Tensor, operator: Operator) -> Tensor:
        return 0.5 * (K - operator.transpose(K)) - 0.5 * self.gamma * operator.identity(K)

    def __repr__(self) -> str:
        return f"Antisymmetric(gamma={self.gamma:g})"
