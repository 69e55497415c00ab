"""Forward Euler: y_{j+1} = y_j + h f_j(y_j). Order 1, not invertible.

Stability (Haber & Ruthotto 2018, Lemma 1; docs/theory.md 2): the linearised step is
stable iff max_i |1 + h lambda_i| <= 1, the disc of radius 1 about -1; purely imaginary
lambda lie outside it (|1 + i h w| > 1), which is why the antisymmetric network adds the
damping -gamma/2.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..interfaces import AnyField, LayerGradients, Residuals, Weights
from ..layers.fields import add_scaled
from .base import Integrator, State


class ForwardEuler(Integrator):
    """Forward Euler, one state y (docs/theory.md 1 and 2)::

        y_{j+1} = y_j + h f_j(y_j)

    Order 1, not invertible. Stable on the linearised step iff every eigenvalue lambda of
    the Jacobian satisfies |1 + h lambda| <= 1 (the disc of radius 1 about -1;
    :meth:`stability_margin` is 1 - |1 + h lambda|).
    """

    name = "euler"
    order = 1

    def init(self, y0: Tensor) -> State:
        return (y0,)

    def step(self, field: AnyField, w: Weights, h: float, state: State) -> State:
        (y,) = state
        return (add_scaled(field, y, h, w, y),)  # y + h f(w, y), fused

    ADJOINT_OF = ("init", "step", "output", "step_res", "adjoint_start", "adjoint_step",
                  "adjoint_cotangent", "init_vjp")

    def step_res(self, field: AnyField, w: Weights, h: float,
                 state: State) -> tuple[State, Residuals]:
        (y,) = state
        y, res = field.add_scaled_res(y, h, w, y)
        return (y,), res

    def adjoint_step(self, field: AnyField, w: Weights, h: float, res: Residuals, g: State,
                     grads: LayerGradients) -> State:
        """g_j = g_{j+1} + h J_f(y_j)^T g_{j+1}."""
        (gy,) = g
        return (field.vjp_scaled(gy, h, w, res, gy, grads),)

    def init_vjp(self, g: State) -> Tensor:
        return g[0]

    def stability_margin(self, h_lambda: Tensor) -> Tensor:
        """1 - |1 + h lambda|."""
        return 1.0 - torch.abs(1.0 + torch.as_tensor(h_lambda))
