"""Armijo backtracking line search.

Given a descent direction d at x (slope ``g . d < 0``), accept the first step
``t = t0, t0 r, t0 r^2, ...`` (``r`` = ``shrink``) with

    f(x + t d) <= f(x) + c t g . d

(sufficient decrease, ``c`` = ``c1``). Returns the accepted step, its value and the
number of trial evaluations; ``t = 0`` when no trial among ``max_trials`` is accepted.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class LineSearchResult:
    """``step`` t (0 = failed), ``value`` f(x + t d) (or f(x) on failure), ``trials`` the
    number of evaluations of f, ``aux`` whatever f returned besides the value at the
    accepted point (None on failure)."""

    step: float
    value: float
    trials: int
    aux: Any = None


def armijo(
    f: Callable[[float], tuple[float, Any]], f0: float, slope: float, *, t0: float = 1.0,
    c1: float = 1e-4, shrink: float = 0.5, max_trials: int = 12,
) -> LineSearchResult:
    """Backtrack on ``phi(t) = f(x + t d)``; ``f(t)`` returns ``(value, aux)``."""
    t = t0
    for trial in range(1, max_trials + 1):
        value, aux = f(t)
        if math.isfinite(value) and value <= f0 + c1 * t * slope:
            return LineSearchResult(t, value, trial, aux)
        t *= shrink
    return LineSearchResult(0.0, f0, max_trials, None)
