"""Weights as functions of time: theta(t) = (K(t), b(t)) on [0, T], sampled at the layer times.

A block of N layers with step h = T / N applies, in layer j, the weights theta_j = theta(t_j)
at the layer time t_j = j h (j = 0 .. N-1, the start of step j). The network is a
discretisation of an ODE whose coefficients are functions of t, so everything that should
not depend on N is defined on theta(t), not on the stacked tensor ``[N, ...]``:

* **initialisation**: :class:`Smooth` (the default), :class:`Constant` and :class:`IID` draw
  the random coefficients of theta(t) (their number does not depend on N) and sample theta at
  the t_j. With :class:`Smooth` or :class:`Constant` the same seed gives the same K(t) at any
  depth, so the network at depth 2N is a refinement of the one at depth N: its even layers
  hold exactly the weights of the N-layer network. :class:`IID` (the classic per-layer
  draw) is white noise in t: its time-smoothness penalty grows like N^2 / T.
* **smoothness**: :func:`smoothness_norm` = 1/(2h) sum_j |theta_{j+1} - theta_j|^2, the
  discretisation of 1/2 int_0^T |theta'(t)|^2 dt (bounded in N for a smooth theta).
* **the L2(0, T) inner product** <u, v> = h sum_j u_j v_j (:func:`l2_scale`): the gradient
  of a loss with respect to theta in L2(0, T) is (1/h) dL/dtheta_j, which is what makes
  step sizes, line searches and iteration counts independent of N (mesh independence).
* **prolongation**: :func:`interpolate_in_time` resamples theta_j at a new depth.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from .checks import nonnegative_int, nonnegative_real, positive_int
from .errors import ConfigError, ConfigTypeError


def layer_times(depth: int, T: float, dtype: torch.dtype = torch.float64) -> Tensor:
    """t_j = j T / N for j = 0 .. N-1."""
    return torch.arange(depth, dtype=dtype) * (T / depth)


class IID:
    """theta_j i.i.d. N(0, std^2) entrywise, independently per layer (white noise in t).

    The classic initialisation of a residual network; it does not discretise any function
    of t, and its smoothness penalty at initialisation is about numel * std^2 * N^2 / T."""

    name = "iid"

    def sample(self, depth: int, T: float, shape: Sequence[int], std: float) -> Tensor:
        return torch.randn(depth, *shape, dtype=torch.float64) * std

    def __repr__(self) -> str:
        return "IID()"


class Smooth:
    """K(t) = K_0 + a sum_{k=1}^{m} K_k cos(k pi t / T), all K_k i.i.d. N(0, std^2) entrywise.

    One random operator K_0 for all t plus ``modes`` = m low-frequency cosine modes of
    relative amplitude ``amplitude`` = a (the eigenfunctions of the time-smoothness penalty
    on [0, T]). Its penalty 1/2 int |K'|^2 dt = a^2 pi^2 / (4 T) sum_k k^2 |K_k|^2 does not
    depend on N. ``Smooth(modes=0)`` is :class:`Constant`.
    """

    name = "smooth"

    def __init__(self, modes: int = 2, amplitude: float = 0.1) -> None:
        self.modes = nonnegative_int("modes", modes)
        self.amplitude = nonnegative_real("amplitude", amplitude)

    def sample(self, depth: int, T: float, shape: Sequence[int], std: float) -> Tensor:
        coeffs = torch.randn(self.modes + 1, *shape, dtype=torch.float64) * std  # K_0 .. K_m
        t = layer_times(depth, T)
        k = torch.arange(1, self.modes + 1, dtype=torch.float64)
        basis = torch.cat([torch.ones(depth, 1, dtype=torch.float64),
                           self.amplitude * torch.cos(math.pi * t[:, None] * k / T)], dim=1)
        return torch.tensordot(basis, coeffs, dims=1)  # [N, *shape]

    def __repr__(self) -> str:
        return f"Smooth(modes={self.modes}, amplitude={self.amplitude:g})"


class Constant(Smooth):
    """K(t) = K_0 for all t, K_0 i.i.d. N(0, std^2) entrywise: every layer the same operator."""

    name = "constant"

    def __init__(self) -> None:
        super().__init__(modes=0, amplitude=0.0)

    def __repr__(self) -> str:
        return "Constant()"


INITS = {"smooth": Smooth, "constant": Constant, "iid": IID}
"""Initialisations by name (``init="smooth"`` etc.)."""


def get_init(init: object) -> Smooth | IID:
    """An initialisation object from a name in :data:`INITS` or an object with ``sample``."""
    if isinstance(init, str):
        try:
            return INITS[init]()
        except KeyError:
            raise ConfigError(
                f"unknown init {init!r}; choose one of {sorted(INITS)}, a callable applied "
                "to the stacked K, or a tensor of K's shape"
            ) from None
    if hasattr(init, "sample"):
        return init  # type: ignore[return-value]
    raise ConfigTypeError(f"init must be a name {sorted(INITS)} or have .sample, got {init!r}")


def difference_norm(theta: Tensor) -> Tensor:
    """sum_j |theta_{j+1} - theta_j|^2 over the stacked dim 0."""
    return (theta[1:] - theta[:-1]).pow(2).sum()


def smoothness_norm(theta: Tensor, h: float) -> Tensor:
    """1/(2h) sum_j |theta_{j+1} - theta_j|^2, the discrete 1/2 int_0^T |theta'(t)|^2 dt."""
    return difference_norm(theta) / (2.0 * h)


def l2_scale(h: float) -> float:
    """The factor h of the L2(0, T) inner product <u, v> = h sum_j u_j v_j.

    A gradient step in L2(0, T) is theta_j -= lr (1/h) dL/dtheta_j; an optimiser that works
    in Euclidean coordinates sees it when it optimises p_j = sqrt(h) theta_j instead."""
    return float(h)


def interpolate_in_time(theta: Tensor, new_depth: int) -> Tensor:
    """Resample ``theta: [N, ...]`` (values at t_j = j T/N) to ``[new_depth, ...]`` at i T/M.

    theta(t) is the piecewise-linear interpolant of the old values, held constant at
    theta_{N-1} beyond the last old time t_{N-1}:

        theta'_i = (1 - w) theta_j + w theta_{j+1},  j = floor(s_i / h), w = s_i / h - j
        theta'_i = theta_{N-1}                       if s_i >= t_{N-1}

    For M = 2N: theta'_{2j} = theta_j, theta'_{2j+1} = (theta_j + theta_{j+1}) / 2 and
    theta'_{2N-1} = theta_{N-1}.
    """
    positive_int("new_depth", new_depth)
    n = theta.shape[0]
    s = torch.arange(new_depth, dtype=torch.float64) * (n / new_depth)  # s_i / h, old units
    j = s.floor().long().clamp(max=n - 1)
    w = (s - j).clamp(max=1.0)
    w = torch.where(j >= n - 1, torch.zeros_like(w), w)  # hold the last value constant
    j1 = (j + 1).clamp(max=n - 1)
    w = w.to(theta.dtype).to(theta.device).reshape(-1, *([1] * (theta.dim() - 1)))
    return (1 - w) * theta[j] + w * theta[j1]
