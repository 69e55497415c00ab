"""Reversible backpropagation: memory independent of depth for invertible integrators.

The forward pass runs the N steps without autograd and keeps only the final full
state S_N (Verlet: (z_N, y_N); leapfrog: (y_{N-1}, y_N)) and the input x. The backward
pass walks j = N-1, ..., 0 and, for each layer,

1. reconstructs the layer's input S_j = Phi_j^{-1}(S_{j+1}) by the exact inverse step,
2. recomputes that one step with autograd (weights K_j, b_j) and pulls the cotangent
   back: g_j = (dPhi_j / dS_j)^T g_{j+1}, dL/dK_j = (dPhi_j / dK_j)^T g_{j+1} (same for b_j),

and finally maps g_0 through the initial state S_0 = init(x): for Verlet z_0 = 0 is a
constant, so dL/dx = g_{y_0}; for leapfrog y_{-1} = y_0 = x, so dL/dx = g_{y_{-1}} + g_{y_0}.
Only O(1) states are alive at any time (Chang et al., AAAI 2018).

For Verlet and leapfrog, steps 1 and 2 share their field evaluations: both steps are
shears whose inverse evaluates the field at the same point as the forward step
(z_{j+1} for dy, y_j for dz; y_j for the leapfrog force), so the inverse step itself
records the graph and no separate recomputation is needed (one forward-cost per layer
instead of two). Any other invertible integrator uses the generic
``inverse_step`` + recompute rule.

This is the autograd form (one ``torch.autograd.grad`` call per layer), the fallback
for fields without hand-written VJPs (a user's activation, a custom field or operator);
the hand-written form is :mod:`.reversible_adjoint`. Both share the drift guard of
:mod:`.drift`: the drift of each backward pass goes to the :class:`DriftRecord` that
:func:`reversible_integrate` returns, and a pass that drifts past ``drift_tol`` is redone
in float64.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from ..integrators import Leapfrog, Verlet
from ..integrators.base import State
from .adjoint import autograd_vjp
from .drift import DRIFT_TOL, Cast, DriftRecord, guarded, relative_drift
from .loop import Loop

AdjointStep = Callable[..., tuple[State, State]]


def _vjp(outputs: Sequence[Tensor], inputs: Sequence[Tensor], cotangents: Sequence[Tensor]):
    """(d outputs / d inputs)^T cotangents, with zeros for inputs that do not matter."""
    pairs = [(o, c) for o, c in zip(outputs, cotangents, strict=True) if o.requires_grad]
    grads = torch.autograd.grad(
        [o for o, _ in pairs], list(inputs), [c for _, c in pairs], allow_unused=True
    ) if pairs else [None] * len(inputs)
    return tuple(
        torch.zeros_like(i) if g is None else g for i, g in zip(inputs, grads, strict=True)
    )


def _leaf(t: Tensor) -> Tensor:
    return t.detach().requires_grad_()


def _sum_into(out: Tensor, *parts: Tensor | None) -> None:
    """out = sum of the parts that exist (a weight unused by a field gets no gradient)."""
    parts = tuple(p for p in parts if p is not None)
    if len(parts) == 2:
        torch.add(parts[0], parts[1], out=out)
    elif parts:
        out.copy_(parts[0])
    else:
        out.zero_()


# An adjoint step maps (S_{j+1}, g_{j+1}) to (S_j, g_j) and writes dL/dK_j, dL/db_j into
# ``out``; ``w`` are leaves requiring grad, and the sweep runs in no-grad mode.


def generic_adjoint_step(integ: Any, field: Any, w: Any, h: float, state: State, g: State,
                         out: tuple[Tensor, Tensor]) -> tuple[State, State]:
    """S_j = inverse_step(S_{j+1}); recompute step j from S_j with autograd; pull g back."""
    prev = integ.inverse_step(field, w, h, state)
    with torch.enable_grad():
        leaves = tuple(_leaf(s) for s in prev)
        grads = _vjp(integ.step(field, w, h, leaves), (*leaves, *w), g)
    out[0].copy_(grads[-2])
    out[1].copy_(grads[-1])
    return prev, grads[:-2]


def verlet_adjoint_step(integ: Any, field: Any, w: Any, h: float, state: State, g: State,
                        out: tuple[Tensor, Tensor]) -> tuple[State, State]:
    """Verlet step j backwards. Forward: z1 = z0 + h dz(y0), y1 = y0 + h dy(z1).

    y0 = y1 - h dy(z1), z0 = z1 - h dz(y0);
    g_z1 += h J_dy(z1)^T g_y1, then g_y0 = g_y1 + h J_dz(y0)^T g_z1, g_z0 = g_z1.
    """
    (z1, y1), (gz1, gy1) = state, g
    with torch.enable_grad():
        z1 = _leaf(z1)
        a = field.dy(w, z1)
    y0 = torch.sub(y1, a, alpha=h).requires_grad_()  # a fresh leaf: no graph in no-grad mode
    with torch.enable_grad():
        c = field.dz(w, y0)
    z0 = torch.sub(z1, c, alpha=h)
    dz1, dK1, db1 = torch.autograd.grad(a, (z1, *w), h * gy1, allow_unused=True)
    gz1 = gz1 + dz1
    dy0, dK2, db2 = torch.autograd.grad(c, (y0, *w), h * gz1, allow_unused=True)
    _sum_into(out[0], dK1, dK2)
    _sum_into(out[1], db1, db2)
    return (z0, y0.detach()), (gz1, gy1 + dy0)


def leapfrog_adjoint_step(integ: Any, field: Any, w: Any, h: float, state: State, g: State,
                          out: tuple[Tensor, Tensor]) -> tuple[State, State]:
    """Leapfrog step j backwards. Forward: (y_{j-1}, y_j) -> (y_j, 2 y_j - y_{j-1} + h^2 F(y_j)).

    y_{j-1} = 2 y_j - y_{j+1} + h^2 F(y_j);
    g_{y_{j-1}} = -g_{j+1}, g_{y_j} = g_j + 2 g_{j+1} + h^2 J_F(y_j)^T g_{j+1}.
    """
    (y, y_next), (g_y, g_next) = state, g
    with torch.enable_grad():
        yl = _leaf(y)
        force = field(w, yl)
    y_prev = (2.0 * y).sub_(y_next).add_(force, alpha=h * h)
    dy, dK, db = torch.autograd.grad(force, (yl, *w), (h * h) * g_next, allow_unused=True)
    _sum_into(out[0], dK)
    _sum_into(out[1], db)
    return (y_prev, y), (-g_next, torch.add(g_y, g_next, alpha=2.0).add_(dy))


ADJOINT_STEPS: dict[type, AdjointStep] = {
    Verlet: verlet_adjoint_step, Leapfrog: leapfrog_adjoint_step,
}
"""Fused backward rules by exact integrator type; others use :func:`generic_adjoint_step`."""


def _forward(loop: Loop, x: Tensor, K: Tensor, b: Tensor, dtype: torch.dtype) -> State:
    Ks, bs = Cast(K.unbind(0), dtype), Cast(b.unbind(0), dtype)
    return loop.steps(loop.integrator.init(x.to(dtype)), Ks, bs, 0, K.shape[0])


def _backward(loop: Loop, state: State, g: State, x: Tensor, K: Tensor, b: Tensor):
    """The sweep j = N-1..0 in the dtype of ``state``: (dL/dx, dL/dK, dL/db, drift)."""
    integ, field, h, dtype = loop.integrator, loop.field, loop.h, state[0].dtype
    adjoint_step = ADJOINT_STEPS.get(type(integ), generic_adjoint_step)
    state = tuple(s.detach() for s in state)
    g = tuple(c.to(dtype) for c in g)
    gK, gb = torch.empty_like(K), torch.empty_like(b)
    Kd, bd = K.detach(), b.detach()
    for j in range(K.shape[0] - 1, -1, -1):
        w = (Kd[j].to(dtype).requires_grad_(), bd[j].to(dtype).requires_grad_())
        state, g = adjoint_step(integ, field, w, h, state, g, (gK[j], gb[j]))
    with torch.enable_grad():
        x0 = _leaf(integ.output(state))
        (gx,) = _vjp(integ.init(x0), (x0,), g)
    return (gx.to(x.dtype), gK, gb), relative_drift(integ, state, x)


class ReversibleIntegration(torch.autograd.Function):
    """``apply(loop, record, drift_tol, x, K, b)`` -> the final full state, backpropagated
    reversibly; each backward pass writes its drift to ``record``.

    ``K``, ``b`` are the applied weight stacks (``block.weights()``), so autograd
    differentiates the parametrisation outside this function. Computes in ``x.dtype``
    with autocast disabled (a half-precision reconstruction would drift); a double
    backward (``create_graph=True``) differentiates autograd's loop recomputed from x.
    """

    @staticmethod
    def forward(ctx: Any, loop: Loop, record: DriftRecord, drift_tol: float, x: Tensor,
                K: Tensor, b: Tensor) -> State:
        with torch.autocast(x.device.type, enabled=False):  # half precision would drift
            state = _forward(loop, x, K, b, x.dtype)
        state = tuple(s.clone() if s is x else s for s in state)  # never return the input
        ctx.loop, ctx.record, ctx.drift_tol = loop, record, drift_tol
        ctx.save_for_backward(x, K, b, *state)
        return state

    @staticmethod
    def backward(ctx: Any, *cotangents: Tensor | None):
        x, K, b, *final = ctx.saved_tensors
        loop = ctx.loop
        g = tuple(
            torch.zeros_like(s) if c is None else c
            for s, c in zip(final, cotangents, strict=True)
        )

        if torch.is_grad_enabled():  # create_graph=True: a differentiable backward
            return None, None, None, *autograd_vjp(loop, x, K, b, g, ctx.needs_input_grad[3:])

        def run(dtype: torch.dtype):
            state = tuple(final) if dtype == x.dtype else _forward(loop, x, K, b, dtype)
            return _backward(loop, state, g, x, K, b)

        gx, gK, gb = guarded(run, x, ctx.drift_tol, ctx.record)
        return None, None, None, gx, gK, gb


def reversible_integrate(
    loop: Loop, x: Tensor, K: Tensor, b: Tensor, drift_tol: float = DRIFT_TOL,
) -> tuple[State, DriftRecord]:
    """The final full state of ``loop`` from ``x``, with O(1)-in-depth activation memory,
    and the record its backward pass writes its drift to (guarded by ``drift_tol``)."""
    record = DriftRecord()
    return ReversibleIntegration.apply(loop, record, drift_tol, x, K, b), record
