"""The loop a memory mode integrates, as the block hands it over (callables, no block)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from ..integrators.base import State

Steps = Callable[..., State]


class Loop(NamedTuple):
    """N steps S_{j+1} = integrator.step(field, (K_j, b_j), h, S_j) from S_0 = integrator.init(x).

    ``steps(state, Ks, bs, start, stop)`` applies layers ``start..stop-1`` to ``state`` (the
    block's loop, :meth:`StableBlock.steps`); every mode's forward runs through it.
    """

    integrator: Any
    field: Any
    h: float
    steps: Steps
