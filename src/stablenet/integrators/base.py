"""The integrator interface: how states advance given a vector field; knows nothing about K.

An integrator carries a tuple of states (its *state layout*), declares its order of
accuracy and whether its step is exactly invertible, and owns its stability region.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..interfaces import AnyField, Weights
from ..layers.transcribed import snapshot, unchanged

State = tuple[Tensor, ...]


def segment_margin(h_lambda: Tensor, radius: float, rtol: float = 1e-6) -> Tensor:
    """The margin of a region that is the segment |h lambda| <= radius of the imaginary
    axis: radius - |h lambda| for (numerically) imaginary h lambda, else -|Re(h lambda)|."""
    hl = torch.as_tensor(h_lambda)
    if not hl.is_complex():
        hl = hl.to(torch.complex128)
    on_axis = hl.real.abs() <= rtol * hl.abs().clamp_min(1.0)
    return torch.where(on_axis, radius - hl.abs(), -hl.real.abs())


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
    #: the stability region is a segment of the imaginary axis (Verlet, leapfrog, midpoint):
    #: any damping moves an eigenvalue off it
    imaginary_axis: bool = False
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

    # -- the hand-written discrete adjoint (see stablenet.memory.adjoint) -------------
    # step_res(field, w, h, S_j) -> (S_{j+1}, res): the step, with the residuals its
    #     adjoint needs (field evaluations' inputs and sigma(a));
    # adjoint_step(field, w, h, res, g_{j+1}, grads) -> g_j = (dS_{j+1}/dS_j)^T g_{j+1},
    #     adding (dS_{j+1}/dw_j)^T g_{j+1} to grads;
    # inverse_res(field, w, h, S_{j+1}) -> (S_j, res) for invertible integrators: the
    #     inverse step, whose field evaluations are those of the forward step;
    # init_vjp(g_0) -> dL/dx for S_0 = init(x);
    # adjoint_start(g) / adjoint_cotangent(a): from the cotangent of a state to what the
    #     sweep carries between adjoint steps and back (the identity unless an integrator
    #     saves work by carrying it transformed, as leapfrog does).
    ADJOINT_OF: tuple[str, ...] = ()
    """The methods the written adjoint transcribes; a subclass overriding one of them (or
    a patched class) gets autograd's backward instead (:attr:`has_adjoint`)."""

    _transcribed: dict[str, object] = {}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "ADJOINT_OF" in vars(cls):  # the methods as written, to detect later changes
            cls._transcribed = snapshot(cls, cls.ADJOINT_OF)

    @property
    def has_adjoint(self) -> bool:
        return unchanged(type(self), self._transcribed)

    def adjoint_start(self, g: State) -> State:
        return g

    def adjoint_cotangent(self, a: State) -> State:
        return a

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


class TwoStep(Integrator):
    """What the two-step schemes (leapfrog, midpoint) share: the states (y_{j-1}, y_j),
    started at rest, y_{-1} = y_0 = x (so dL/dx = g_{y_{-1}} + g_{y_0}), and an exactly
    invertible step (each defines ``step`` and ``inverse_step``)."""

    invertible = True
    state_names = ("y_prev", "y")

    def init(self, y0: Tensor) -> State:
        return (y0, y0)

    def init_vjp(self, g: State) -> Tensor:
        return g[0] + g[1]  # y_{-1} = y_0 = x


