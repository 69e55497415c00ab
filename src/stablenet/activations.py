"""Activation functions sigma (elementwise, monotone) by name.

``"tanh"`` is the paper's default, ``"relu"`` is allowed, and ``"identity"`` gives the
linear network for which the linear stability theory (docs/theory.md 2) is exact.
Any callable ``Tensor -> Tensor`` may be passed instead of a name.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from torch import Tensor

from .errors import ConfigError, ConfigTypeError

Activation = Callable[[Tensor], Tensor]
ActivationLike = str | Activation


def identity(x: Tensor) -> Tensor:
    """sigma(x) = x: the linear case."""
    return x


ACTIVATIONS: dict[str, Activation] = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "identity": identity,
}


ACTIVATIONS_INPLACE: dict[Activation, Activation] = {
    torch.tanh: torch.tanh_, torch.relu: torch.relu_, identity: identity,
}
"""sigma applied in place, for the named activations (a fresh pre-activation a = K y + b
needs no second buffer); a user's callable is applied as it is."""

ActivationVJP = Callable[[Tensor, Tensor], Tensor]
ActivationVJPInto = Callable[..., Tensor]


def _bound(overload):
    """The C++ operator behind an ``torch.ops`` overload: calling it skips the overload's
    Python ``__call__`` (0.3-0.4 us a call, a few percent of a small layer's backward)."""
    return getattr(overload, "_op", overload)


_tanh_backward = _bound(torch.ops.aten.tanh_backward.grad_input)  # (out= form: a faster call)
_threshold_backward = _bound(torch.ops.aten.threshold_backward.grad_input)


def _tanh_vjp(g: Tensor, s: Tensor) -> Tensor:
    return _tanh_backward(g, s, grad_input=s)  # g (1 - s^2), one kernel, into s


def _relu_vjp(g: Tensor, s: Tensor) -> Tensor:
    return _threshold_backward(g, s, 0, grad_input=s)  # g [s > 0], into s


def _identity_vjp(g: Tensor, s: Tensor) -> Tensor:
    return g


ACTIVATION_VJPS: dict[Activation, ActivationVJP] = {
    torch.tanh: _tanh_vjp, torch.relu: _relu_vjp, identity: _identity_vjp,
}
"""``(g, s) -> sigma'(a) g`` from the output s = sigma(a), for the named activations (the
written backward passes; a user's callable has none and is differentiated by autograd).
They consume s: the result is written into its memory (the sweeps use each residual once)."""

ACTIVATION_VJPS_INTO: dict[Activation, ActivationVJPInto] = {
    torch.tanh: _tanh_backward, torch.relu: functools.partial(_threshold_backward, threshold=0),
}
"""``(g, s, *, grad_input=out) -> sigma'(a) g`` written into ``out`` (s is kept), for the
activations whose VJP is one kernel with an output argument (identity's is g itself:
nothing to write); the operators themselves, no Python call in between."""


def activation_inplace(sigma: Activation) -> Activation:
    """sigma applied in place where the library knows how, else sigma itself."""
    return ACTIVATIONS_INPLACE.get(sigma, sigma)


def activation_vjp(sigma: Activation) -> ActivationVJP | None:
    """``(g, s) -> sigma'(a) * g`` with ``s = sigma(a)`` (consumed), or None if sigma has no
    written VJP."""
    return ACTIVATION_VJPS.get(sigma)


def activation_vjp_into(sigma: Activation) -> ActivationVJPInto | None:
    """``(g, s, *, grad_input=out) -> sigma'(a) * g`` written into ``out``, or None (see
    :data:`ACTIVATION_VJPS_INTO`)."""
    return ACTIVATION_VJPS_INTO.get(sigma)


def get_activation(activation: ActivationLike) -> Activation:
    """Resolve an activation name (``tanh``, ``relu``, ``identity``) or pass a callable through."""
    if isinstance(activation, str):
        try:
            return ACTIVATIONS[activation]
        except KeyError:
            raise ConfigError(
                f"unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)} "
                "or pass a callable"
            ) from None
    if callable(activation):
        return activation
    raise ConfigTypeError(
        f"activation must be a name {sorted(ACTIVATIONS)} or a callable, got {type(activation)}"
    )


def activation_name(activation: ActivationLike) -> str:
    """A readable name for reprs and configs (the callable's ``__name__`` for custom ones)."""
    if isinstance(activation, str):
        return activation
    return getattr(activation, "__name__", type(activation).__name__)
