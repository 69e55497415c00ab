"""Reversible backpropagation with the hand-written discrete adjoint (no autograd per layer).

The forward pass runs the N steps without a graph and keeps only the final full state
S_N (Verlet: (z_N, y_N); leapfrog: (y_{N-1}, y_N)). The backward pass walks
j = N-1, ..., 0: the inverse step rebuilds S_j from S_{j+1} and, since it evaluates the
field at the same points as the forward step (z_{j+1} for dy, y_j for dz; y_j for the
leapfrog force), returns that step's residuals too (``Integrator.inverse_res``); the
integrator's written adjoint step then maps g_{j+1} to g_j and adds dL/dw_j. Only O(1)
states are alive at any time (Chang et al., AAAI 2018). The drift of the rebuilt S_0 is
guarded as in :mod:`.drift` (a float64 redo past ``drift_tol``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ..integrators.base import State
from .adjoint import DiscreteAdjoint, owned
from .drift import DRIFT_TOL, Cast, DriftRecord, guarded, relative_drift
from .grads import SlotGrads, WeightGrads
from .loop import Loop


class ReversibleSweep:
    """Keep the final state; rebuild the others by inverse steps in backward."""

    def __init__(self, drift_tol: float, record: DriftRecord) -> None:
        self.drift_tol, self.record = drift_tol, record

    def forward(self, loop: Loop, x: Tensor, K: Tensor, b: Tensor):
        with torch.autocast(x.device.type, enabled=False):  # half precision would drift
            final = _steps(loop, x, K, b, x.dtype)
        return final, final

    def backward(self, loop: Loop, final: State, x: Tensor, g: State, K: Tensor,
                 b: Tensor) -> tuple[Tensor, WeightGrads]:
        def run(dtype: torch.dtype):
            state = final if dtype == x.dtype else _steps(loop, x, K, b, dtype)
            return _sweep(loop, state, owned(c.to(dtype) for c in g), Cast(K, dtype),
                          Cast(b, dtype), x)

        return guarded(run, x, self.drift_tol, self.record)


def _steps(loop: Loop, x: Tensor, K: Tensor, b: Tensor, dtype: torch.dtype) -> State:
    """The forward loop in ``dtype``, the weights indexed (and cast) one layer at a time:
    no per-layer objects are kept (memory O(1) in depth)."""
    state = loop.integrator.init(x.to(dtype))
    return loop.steps(state, Cast(K, dtype), Cast(b, dtype), 0, K.shape[0])


def _sweep(loop: Loop, state: State, g: State, Ks: Sequence[Tensor], bs: Sequence[Tensor],
           x: Tensor):
    """((dL/dx, WeightGrads), drift) from the final state and its cotangent ``g``."""
    integ, field, h = loop.integrator, loop.field, loop.h
    grads, g = SlotGrads(len(Ks), Ks[0], bs[0]), integ.adjoint_start(g)
    for j in range(len(Ks) - 1, -1, -1):
        w = (Ks[j], bs[j])
        state, res = integ.inverse_res(field, w, h, state)
        g = integ.adjoint_step(field, w, h, res, g, grads.layer(j))
    return (integ.init_vjp(integ.adjoint_cotangent(g)), grads), relative_drift(integ, state, x)


def reversible_adjoint(
    loop: Loop, x: Tensor, K: Tensor, b: Tensor, drift_tol: float = DRIFT_TOL,
) -> tuple[State, DriftRecord]:
    """The final full state of ``loop`` from ``x`` (O(1)-in-depth activation memory, the
    written adjoint) and the record its backward pass writes its drift to."""
    record = DriftRecord()
    return DiscreteAdjoint.apply(loop, ReversibleSweep(drift_tol, record), x, K, b), record
