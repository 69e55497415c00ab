"""The explicit midpoint rule (leapfrog for a first-order ODE y' = f(y)), with y_{-1} = y_0:

    y_{j+1} = y_{j-1} + 2 h f_j(y_j)

The midpoint network of Chang et al., "Reversible architectures for arbitrarily deep
residual neural networks" (AAAI 2018). The step rule is second order (``order = 2``); the
start y_{-1} = y_0 (as the leapfrog network's) makes y_1 = y_0 + 2 h f_0(y_0), so the
block's y_N converges at first order. Explicit and exactly invertible:
y_{j-1} = y_{j+1} - 2 h f_j(y_j). Its stability region is the open segment of the imaginary
axis |h lambda| < 1: for lambda = i w both roots of xi^2 - 2 i h w xi - 1 = 0 have modulus
1 iff h |w| <= 1 (a double root at h |w| = 1), and for any Re lambda != 0 one root
exceeds 1. So it suits fields with imaginary spectra: the antisymmetric field without
damping, sigma(W y + b) with W = 1/2 (K - K^T), whose Jacobian diag(sigma') W is similar to
the antisymmetric D^{1/2} W D^{1/2} at every state. Forward Euler's condition on the same
field (docs/theory.md 3.2) needs a damping gamma >= about h w^2 instead.
"""

from __future__ import annotations

from torch import Tensor

from ..interfaces import AnyField, LayerGradients, Residuals, Weights
from ..layers.fields import add_scaled
from .base import State, TwoStep, segment_margin


class Midpoint(TwoStep):
    """Explicit midpoint rule for y' = f(y), states (y_{j-1}, y_j), y_{-1} = y_0::

        y_{j+1} = y_{j-1} + 2 h f_j(y_j)

    Order 2 (the start makes the block first order), explicit and exactly invertible
    (:meth:`inverse_step`: y_{j-1} = y_{j+1} - 2 h f_j(y_j)). Stable iff every eigenvalue
    of the Jacobian is imaginary with h |lambda| <= 1 (:meth:`stability_margin`:
    1 - |h lambda| on the axis, -|Re(h lambda)| off it).
    """

    name = "midpoint"
    order = 2
    imaginary_axis = True

    def step(self, field: AnyField, w: Weights, h: float, state: State) -> State:
        y_prev, y = state
        return (y, add_scaled(field, y_prev, 2.0 * h, w, y))

    def inverse_step(self, field: AnyField, w: Weights, h: float, state: State) -> State:
        y, y_next = state
        return (add_scaled(field, y_next, -2.0 * h, w, y), y)

    ADJOINT_OF = ("init", "step", "inverse_step", "output", "step_res", "inverse_res",
                  "adjoint_start", "adjoint_step", "adjoint_cotangent", "init_vjp")

    def step_res(self, field: AnyField, w: Weights, h: float,
                 state: State) -> tuple[State, Residuals]:
        y_prev, y = state
        y_next, res = field.add_scaled_res(y_prev, 2.0 * h, w, y)
        return (y, y_next), res

    def inverse_res(self, field: AnyField, w: Weights, h: float,
                    state: State) -> tuple[State, Residuals]:
        y, y_next = state
        y_prev, res = field.add_scaled_res(y_next, -2.0 * h, w, y)
        return (y_prev, y), res

    def adjoint_step(self, field: AnyField, w: Weights, h: float, res: Residuals, g: State,
                     grads: LayerGradients) -> State:
        """From (g_{y_j}, g_{y_{j+1}}) of the state (y_j, y_{j+1}): g_{y_{j-1}} = g_{y_{j+1}},
        g_{y_j} = g_{y_j} + 2 h J_f(y_j)^T g_{y_{j+1}}."""
        g_y, g_next = g
        return (g_next, field.vjp_scaled(g_y, 2.0 * h, w, res, g_next, grads))

    def stability_margin(self, h_lambda: Tensor) -> Tensor:
        """1 - |h lambda| for imaginary h lambda, -|Re(h lambda)| off the axis."""
        return segment_margin(h_lambda, 1.0)
