"""Activation functions sigma (elementwise, monotone) by name.

``"tanh"`` is the paper's default, ``"relu"`` is allowed, and ``"identity"`` gives the
linear network for which the linear stability theory (docs/theory.md 2) is exact.
Any callable ``Tensor -> Tensor`` may be passed instead of a name.
"""

from __future__ import annotations

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


ActivationVJP = Callable[[Tensor, Tensor], Tensor]
_aten = torch.ops.aten

ACTIVATION_VJPS: dict[Activation, ActivationVJP] = {
    torch.tanh: lambda g, s: _aten.tanh_backward(g, s),  # g (1 - s^2), one kernel
    torch.relu: lambda g, s: _aten.threshold_backward(g, s, 0),  # g [s > 0]
    identity: lambda g, s: g,
}
"""sigma'(a) * g from the output s = sigma(a), for the named activations (hand-written
backward passes; a user's callable has none and is differentiated by autograd)."""


def activation_vjp(sigma: Activation) -> ActivationVJP | None:
    """``(g, s) -> sigma'(a) * g`` with ``s = sigma(a)``, or None if sigma has no written VJP."""
    return ACTIVATION_VJPS.get(sigma)


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
