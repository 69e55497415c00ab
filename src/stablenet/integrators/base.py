"""The integrator interface: how states advance given a vector field; knows nothing about K.

An integrator carries a tuple of states (its *state layout*), declares its order of
accuracy and whether its step is exactly invertible, and owns its stability region.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..interfaces import AnyField, Weights

State = tuple[Tensor, ...]


class Integrator:
    """Base class of the time steppers: one step maps the state tuple at t_j to t_{j+1}.

    Subclasses define ``init`` (the state tuple from y_0), ``step(field, w, h, state)``
    (the update rule, stated in each subclass's docstring), ``output`` (the y_j the next
    layer sees), ``stability_margin(h lambda)`` (>= 0 inside the stability region) and,
    when ``invertible``, ``inverse_step`` (the exact inverse of ``step``). ``order`` is the
    order of accuracy of the step rule.
    """

    name: str = ""
    order: int = 0
    invertible: bool = False
    partitioned: bool = False  # needs a field with dy/dz
    state_names: tuple[str, ...] = ("y",)

    def adapt(self, field: AnyField) -> AnyField:
        """The field this integrator will call (e.g. Verlet wraps a force as y'' = F(y))."""
        return field

    def init(self, y0: Tensor) -> State:
        raise NotImplementedError

    def step(self, field: AnyField, w: Weights, h: float, state: State) -> State:
        raise NotImplementedError

    def inverse_step(self, field: AnyField, w: Weights, h: float, state: State) -> State:
        raise TypeError(f"{self.name} is not invertible")

    def output(self, state: State) -> Tensor:
        """The network's state y_j seen by the next layer / the classifier."""
        return state[-1]

    def stability_margin(self, h_lambda: Tensor) -> Tensor:
        """Per-eigenvalue margin of the discrete stability condition (>= 0 means stable)."""
        raise NotImplementedError

    def is_stable(self, h_lambda: Tensor, tol: float = 1e-9) -> bool:
        return bool((self.stability_margin(torch.as_tensor(h_lambda)) >= -tol).all())

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
