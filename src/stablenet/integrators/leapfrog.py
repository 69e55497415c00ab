"""Leapfrog for the second-order ODE y'' = F(y), with zero initial velocity y_{-1} = y_0:

    y_{j+1} = 2 y_j - y_{j-1} + h^2 F_j(y_j)     (network: F = -K^T sigma(K y + b))

The step rule is second order (``order = 2``: from consistent y_{-1}, y_0 the global error
is O(h^2)); the network's start y_{-1} = y_0 (the authors' code) is a first-order
approximation of zero initial velocity, so the block's y_N converges at first order to the
ODE with y'(0) = 0. Explicit, exactly invertible: y_{j-1} = 2 y_j - y_{j+1} + h^2 F_j(y_j).
2 y_j - y_{j-1} is one kernel, ``lerp(y_{j-1}, y_j, 2)`` (= y_j + (y_j - y_{j-1})).
For F with Jacobian -K^T D K (negative semi-definite) the first-order eigenvalues are
+-i w with w^2 the eigenvalues of K^T D K; the scheme is stable iff h w <= 2.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..interfaces import AnyField, LayerGradients, Residuals, Weights
from ..layers.fields import add_scaled
from .base import State, TwoStep
from .verlet import imaginary_margin


class Leapfrog(TwoStep):
    """Leapfrog for y'' = F(y), states (y_{j-1}, y_j), y_{-1} = y_0 (docs/theory.md 3.4)::

        y_{j+1} = 2 y_j - y_{j-1} + h^2 F_j(y_j)

    Network force F = -K^T sigma(K y + b). Order 2, explicit and exactly invertible
    (:meth:`inverse_step`: y_{j-1} = 2 y_j - y_{j+1} + h^2 F_j(y_j)). Stable on
    first-order eigenvalues +-i w iff h |w| <= 2 (:meth:`stability_margin` as Verlet's).
    """

    name = "leapfrog"
    order = 2
    imaginary_axis = True

    def step(self, field: AnyField, w: Weights, h: float, state: State) -> State:
        y_prev, y = state
        return (y, add_scaled(field, torch.lerp(y_prev, y, 2.0), h * h, w, y))

    def inverse_step(self, field: AnyField, w: Weights, h: float, state: State) -> State:
        y, y_next = state
        return (add_scaled(field, torch.lerp(y_next, y, 2.0), h * h, w, y), y)

    ADJOINT_OF = ("init", "step", "inverse_step", "output", "step_res", "inverse_res",
                  "adjoint_start", "adjoint_step", "adjoint_cotangent", "init_vjp")

    def step_res(self, field: AnyField, w: Weights, h: float,
                 state: State) -> tuple[State, Residuals]:
        y_prev, y = state
        y_next, res = field.add_scaled_res(torch.lerp(y_prev, y, 2.0), h * h, w, y)
        return (y, y_next), res

    def inverse_res(self, field: AnyField, w: Weights, h: float,
                    state: State) -> tuple[State, Residuals]:
        y, y_next = state
        y_prev, res = field.add_scaled_res(torch.lerp(y_next, y, 2.0), h * h, w, y)
        return (y_prev, y), res

    def adjoint_start(self, g: State) -> State:
        """The sweep carries (m, g_{y_j}) with m = -g_{y_{j-1}}: no negation per layer."""
        return (torch.neg(g[0]), g[1])

    def adjoint_step(self, field: AnyField, w: Weights, h: float, res: Residuals, a: State,
                     grads: LayerGradients) -> State:
        """g_{y_{j-1}} = -g_{j+1}, g_{y_j} = g_j + 2 g_{j+1} + h^2 J_F(y_j)^T g_{j+1}; on the
        carried (m, g_{j+1}) with m = -g_j: g_j + 2 g_{j+1} = lerp(m, g_{j+1}, 2), and the new
        m is g_{j+1} itself."""
        m, g_next = a
        base = torch.lerp(m, g_next, 2.0)
        return (g_next, field.vjp_scaled(base, h * h, w, res, g_next, grads))

    def adjoint_cotangent(self, a: State) -> State:
        return (torch.neg(a[0]), a[1])

    def stability_margin(self, h_lambda: Tensor) -> Tensor:
        return imaginary_margin(h_lambda)
