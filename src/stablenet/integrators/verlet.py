"""Verlet (symplectic Euler / Stoermer-Verlet) for a partitioned field, z_0 = 0:

    z_{j+1} = z_j + h dz(y_j)          (Hamiltonian: -h sigma(K_j^T y_j + b_j))
    y_{j+1} = y_j + h dy(z_{j+1})      (Hamiltonian:  h sigma(K_j z_{j+1} + b_j))

The step rule is second order (``order = 2``: from a consistent start z_0 = z(-h/2) the
global error is O(h^2)). The network's start z_0 = 0 (the authors' code) puts an O(h) error
into the starting velocity, so the block's y_N converges at first order to the ODE with
z(0) = 0; it is still a stable, exactly invertible map. Explicit and exactly invertible:
y_j = y_{j+1} - h dy(z_{j+1}), then z_j = z_{j+1} - h dz(y_j).
Stable on eigenvalues +-i w iff h |w| <= 2; it is unstable for any eigenvalue with
nonzero real part of either sign, since the map is volume preserving.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..interfaces import AnyField, LayerGradients, Residuals, Weights
from ..layers.fields import SecondOrder, add_scaled_dy, add_scaled_dz
from .base import Integrator, State, segment_margin


def imaginary_margin(h_lambda: Tensor, rtol: float = 1e-6) -> Tensor:
    """2 - |h lambda| for (numerically) imaginary h lambda, else -|Re(h lambda)|."""
    return segment_margin(h_lambda, 2.0, rtol)


class Verlet(Integrator):
    """Verlet (symplectic Euler) for a partitioned field (dy, dz), states (z, y), z_0 = 0
    (docs/theory.md 3.3)::

        z_{j+1} = z_j + h dz_j(y_j)
        y_{j+1} = y_j + h dy_j(z_{j+1})

    Hamiltonian field: dz = -sigma(K^T y + b), dy = sigma(K z + b). A first-order field
    F is integrated as y'' = F(y) (dy = z, dz = F(y); :class:`~stablenet.layers.SecondOrder`).
    Order 2, explicit and exactly invertible (:meth:`inverse_step`)::

        y_j = y_{j+1} - h dy_j(z_{j+1}),   z_j = z_{j+1} - h dz_j(y_j)

    Stable on eigenvalues +-i w iff h |w| <= 2 (:meth:`stability_margin`: 2 - |h lambda|
    on the imaginary axis, -|Re h lambda| off it).
    """

    name = "verlet"
    order = 2
    invertible = True
    imaginary_axis = True
    partitioned = True
    state_names = ("z", "y")

    def adapt(self, field: AnyField) -> AnyField:
        return field if getattr(field, "partitioned", False) else SecondOrder(field)

    def init(self, y0: Tensor) -> State:
        return (torch.zeros_like(y0), y0)

    def step(self, field: AnyField, w: Weights, h: float, state: State) -> State:
        z, y = state
        z = add_scaled_dz(field, z, h, w, y)  # z + h dz(w, y)
        return (z, add_scaled_dy(field, y, h, w, z))  # y + h dy(w, z_{j+1})

    def inverse_step(self, field: AnyField, w: Weights, h: float, state: State) -> State:
        z, y = state
        y = add_scaled_dy(field, y, -h, w, z)  # y - h dy(w, z)
        return (add_scaled_dz(field, z, -h, w, y), y)  # z - h dz(w, y_j)

    ADJOINT_OF = ("adapt", "init", "step", "inverse_step", "output", "step_res",
                  "inverse_res", "adjoint_start", "adjoint_step",
                  "adjoint_cotangent", "init_vjp")

    def step_res(self, field: AnyField, w: Weights, h: float,
                 state: State) -> tuple[State, Residuals]:
        z, y = state
        z, res_z = field.add_scaled_dz_res(z, h, w, y)
        y, res_y = field.add_scaled_dy_res(y, h, w, z)
        return (z, y), (res_z, res_y)

    def inverse_res(self, field: AnyField, w: Weights, h: float,
                    state: State) -> tuple[State, Residuals]:
        z, y = state
        y, res_y = field.add_scaled_dy_res(y, -h, w, z)  # dy at z_{j+1}, as forward
        z, res_z = field.add_scaled_dz_res(z, -h, w, y)  # dz at y_j, as forward
        return (z, y), (res_z, res_y)

    def adjoint_step(self, field: AnyField, w: Weights, h: float, res: Residuals, g: State,
                     grads: LayerGradients) -> State:
        """g_z += h J_dy(z_{j+1})^T g_y; then g_y += h J_dz(y_j)^T g_z."""
        (res_z, res_y), (gz, gy) = res, g
        gz = field.vjp_scaled_dy(gz, h, w, res_y, gy, grads)
        return (gz, field.vjp_scaled_dz(gy, h, w, res_z, gz, grads))

    def init_vjp(self, g: State) -> Tensor:
        return g[1]  # z_0 = 0 is a constant

    def stability_margin(self, h_lambda: Tensor) -> Tensor:
        return imaginary_margin(h_lambda)
