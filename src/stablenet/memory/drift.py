"""The drift guard of reversible mode: measure the reconstruction, redo in float64 if needed.

Floating point makes the reconstruction by inverse steps inexact: the relative error of
the reconstructed S_0 (the *drift*, ||S_0^rec - init(x)|| / ||x||) is measured at the end
of every reversible backward pass and written to a :class:`DriftRecord`. If it exceeds
``drift_tol`` and the pass did not already run in float64, :func:`guarded` redoes it in
float64 (forward from x, then backward: memory still O(1) in N) with a warning; in float64
a drift above the tolerance only warns. The drift is a good proxy for the gradient's
relative error (BENCHMARKS.md, Memory).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
from torch import Tensor

from ..integrators.base import State

DRIFT_TOL = 1e-3
"""Relative reconstruction error ||S_0^rec - S_0|| / ||x|| above which float64 is used.

The gradient's extra relative error is about the drift; below 1e-3 it is far below
minibatch noise and within a small factor of ordinary float32 backprop's own error
(BENCHMARKS.md, Memory), so a stricter default would redo passes for nothing."""

R = TypeVar("R")


@dataclass
class DriftRecord:
    """The drift ||S_0^rec - init(x)|| / ||x|| of the latest backward pass (NaN before one)."""

    drift: float = math.nan


def relative_drift(integrator: Any, rebuilt: State, x: Tensor) -> float:
    """||S_0^rec - init(x)|| / ||x||, in the dtype of ``rebuilt``."""
    dtype = rebuilt[0].dtype
    true = integrator.init(x.to(dtype))
    err = sum(float(torch.sum((s - t) ** 2)) for s, t in zip(rebuilt, true, strict=True))
    return err**0.5 / max(float(torch.linalg.vector_norm(x)), torch.finfo(dtype).tiny)


def guarded(run: Callable[[torch.dtype], tuple[R, float]], x: Tensor, drift_tol: float,
            record: DriftRecord) -> R:
    """``run(dtype) -> (result, drift)`` in ``x.dtype``, redone in float64 past ``drift_tol``.

    Runs with autocast disabled (a half-precision reconstruction would drift); records the
    drift of the first run.
    """
    with torch.autocast(x.device.type, enabled=False):
        result, drift = run(x.dtype)
        record.drift = drift
        if drift > drift_tol and x.dtype != torch.float64:
            warnings.warn(
                "reversible backward: the reconstructed initial state drifted beyond "
                "drift_tol; redoing this backward pass in float64 (slower, same memory). "
                "block.last_drift has the value; raise Reversible(drift_tol=...) to accept "
                "the error.",
                RuntimeWarning, stacklevel=3,
            )
            del result  # free the first result (its dL/dK is as large as the weights)
            result, _ = run(torch.float64)
        elif drift > drift_tol:
            warnings.warn(
                "reversible backward: the reconstructed initial state drifted beyond "
                "drift_tol even in float64; gradients may be inaccurate. Use "
                "memory=Checkpoint(k) or a smaller step h = T / N.",
                RuntimeWarning, stacklevel=3,
            )
    return result


class Cast(Sequence):
    """``stack[j]`` cast to ``dtype`` on access (no full-size copy of the weights)."""

    def __init__(self, stack: Sequence[Tensor], dtype: torch.dtype) -> None:
        self.stack, self.dtype = stack, dtype

    def __len__(self) -> int:
        return len(self.stack)

    def __getitem__(self, j):
        return self.stack[j].to(self.dtype)
