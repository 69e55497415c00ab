"""The discrete adjoint of a block, written out: one autograd node per block call.

:class:`DiscreteAdjoint` runs the loop without recording a graph, keeping what the memory
mode keeps (its *sweep*), and its backward is the exact adjoint recursion of the
integrator, g_j = (dS_{j+1} / dS_j)^T g_{j+1} for j = N-1, ..., 0, with the layer
functions' hand-written vector-Jacobian products (``Integrator.adjoint_step`` over
``field.vjp_scaled*``); dL/dw_j = (dS_{j+1} / dw_j)^T g_{j+1} are collected per layer
(:class:`WeightGrads`) and stacked once, the dense layers' bias terms summed a few layers
at a time (:mod:`.bias_sums`). The gradients are those of autograd through the
loop, up to rounding. The sweeps:

* :class:`StoreSweep`: the forward keeps each layer's residuals (its input and s = sigma(a));
* :class:`CheckpointSweep`: the forward keeps every k-th state (and the last segment's
  residuals); backward recomputes each segment's residuals from its first state;
* ``ReversibleSweep`` (:mod:`.reversible_adjoint`): the final state only, each layer's
  input rebuilt by the inverse step, whose field evaluations are the residuals.

:func:`hand_written` says when it applies (else the modes run autograd through the loop):
the integrator has a written adjoint and the field written VJPs (a named activation, a
Dense or Conv operator), no ``torch.compile`` tracing (the compiler differentiates the
loop itself), no ``torch.func`` transform, and (store, checkpoint) no autocast. A double
backward (``create_graph=True``) differentiates autograd's loop, recomputed from x, K, b.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor

from ..integrators.base import State
from .grads import WeightGrads
from .loop import Loop


def adjoint_sweep(loop: Loop, residuals: list, g: State, Ks: Sequence[Tensor],
                  bs: Sequence[Tensor], grads: WeightGrads, start: int = 0) -> State:
    """Layers ``start + len(residuals) - 1`` down to ``start``: g_{j+1} -> g_j. Consumes
    (pops) ``residuals``: each layer's memory is freed once it is used."""
    # bound once: at small widths a layer's Python lookups are a few percent of its step
    step, field, h, layers, pop = (loop.integrator.adjoint_step, loop.field, loop.h,
                                   grads.layers, residuals.pop)
    for j in range(start + len(residuals) - 1, start - 1, -1):
        g = step(field, (Ks[j], bs[j]), h, pop(), g, layers[j])
    return g


def residual_steps(loop: Loop, state: State, Ks: Sequence[Tensor], bs: Sequence[Tensor],
                   start: int, stop: int) -> tuple[State, list]:
    """Layers ``start..stop-1`` from ``state``, with each layer's residuals."""
    step, field, h = loop.integrator.step_res, loop.field, loop.h
    residuals: list = []
    keep = residuals.append
    for j in range(start, stop):
        state, res = step(field, (Ks[j], bs[j]), h, state)
        keep(res)
    return state, residuals


class StoreSweep:
    """Keep every layer's residuals: no recomputation, memory O(N). The per-layer views
    of K and b are kept too (``unbind`` costs about 0.4 us a layer, 2-3% of a small
    layer's step)."""

    def forward(self, loop: Loop, x: Tensor, K: Tensor, b: Tensor):
        """(S_N, what backward needs): the residuals of every layer and the weights' views."""
        Ks, bs = K.unbind(0), b.unbind(0)
        state, residuals = residual_steps(loop, loop.integrator.init(x), Ks, bs, 0, len(Ks))
        return state, (residuals, Ks, bs)

    def backward(self, loop: Loop, kept: tuple, x: Tensor, g: State, K: Tensor,
                 b: Tensor) -> tuple[Tensor, WeightGrads]:
        residuals, Ks, bs = kept
        integ, grads = loop.integrator, WeightGrads(len(Ks), b)
        g = adjoint_sweep(loop, residuals, integ.adjoint_start(g), Ks, bs, grads)
        return integ.init_vjp(integ.adjoint_cotangent(g)), grads


class CheckpointSweep:
    """Keep the first state of every segment of ``k`` layers (and the last segment's
    residuals); backward recomputes one segment's residuals at a time: memory O(N/k + k)."""

    def __init__(self, k: int) -> None:
        self.k = k

    def forward(self, loop: Loop, x: Tensor, K: Tensor, b: Tensor):
        Ks, bs = K.unbind(0), b.unbind(0)
        firsts, state, starts = [], loop.integrator.init(x), range(0, len(Ks), self.k)
        for start in starts[:-1]:
            firsts.append(state)
            state = loop.steps(state, Ks, bs, start, start + self.k)
        state, residuals = residual_steps(loop, state, Ks, bs, starts[-1], len(Ks))
        return state, (firsts, residuals, Ks, bs)

    def backward(self, loop: Loop, kept: tuple, x: Tensor, g: State, K: Tensor,
                 b: Tensor) -> tuple[Tensor, WeightGrads]:
        (firsts, residuals, Ks, bs), starts = kept, range(0, K.shape[0], self.k)
        integ, grads = loop.integrator, WeightGrads(len(Ks), b)
        g = adjoint_sweep(loop, residuals, integ.adjoint_start(g), Ks, bs, grads, starts[-1])
        for start in reversed(starts[:-1]):
            residuals = residual_steps(loop, firsts.pop(), Ks, bs, start, start + self.k)[1]
            g = adjoint_sweep(loop, residuals, g, Ks, bs, grads, start)
        return integ.init_vjp(integ.adjoint_cotangent(g)), grads


class DiscreteAdjoint(torch.autograd.Function):
    """``apply(loop, sweep, x, K, b)`` -> the final full state; one node for all N layers.

    ``K``, ``b`` are the applied weight stacks (after the parametrisation), so autograd
    differentiates the parametrisation outside. x, K, b and the outputs go through
    ``save_for_backward`` (checked against in-place changes like any autograd node's);
    what the sweep keeps (residuals, the weights' per-layer views) stays on ``ctx``, so
    that the backward frees each layer's residuals as it consumes them (saved-tensor
    hooks do not see those).
    """

    @staticmethod
    def forward(ctx: Any, loop: Loop, sweep: Any, x: Tensor, K: Tensor, b: Tensor) -> State:
        with _no_gc():
            state, ctx.kept = sweep.forward(loop, x, K, b)
        state = tuple(s.clone() if s is x else s for s in state)  # never return the input
        ctx.loop, ctx.sweep = loop, sweep
        # the outputs too: what the sweep keeps may alias them, and autograd then refuses
        # a backward after an in-place change of one of them instead of a wrong gradient
        ctx.save_for_backward(x, K, b, *state)
        return state

    @staticmethod
    def backward(ctx: Any, *g: Tensor):
        x, K, b, *_ = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: a differentiable backward
            return None, None, *autograd_vjp(ctx.loop, x, K, b, g, ctx.needs_input_grad[2:])
        g = owned(g)
        kept, ctx.kept = ctx.kept, None  # freed layer by layer as the sweep goes
        with _no_gc():
            if kept is None:  # a second backward through a retained graph: recompute
                kept = ctx.sweep.forward(ctx.loop, x, K, b)[1]
            gx, grads = ctx.sweep.backward(ctx.loop, kept, x, g, K, b)
            del kept
            return None, None, gx.to(x.dtype), *grads.stacks(K, b)


@contextmanager
def _no_gc() -> Iterator[None]:
    """Python's cyclic garbage collector paused (reference counting still frees everything).

    The sweeps keep two or three Python objects per layer alive for the whole pass (the
    residual tensors and their tuples), which on CPU triggered full collections of the
    process's objects every few training steps: 20% of a step at depth 1024. The loops
    create no reference cycles."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def owned(g: Sequence[Tensor]) -> State:
    """Contiguous copies of the cotangents, which the sweep then updates in place
    (``vjp_scaled*`` overwrite their ``base``); autograd's own may be shared or expanded."""
    return tuple(c.clone(memory_format=torch.contiguous_format) for c in g)


def autograd_vjp(loop: Loop, x: Tensor, K: Tensor, b: Tensor, g: Sequence[Tensor],
                 needs: Sequence[bool]) -> list[Tensor | None]:
    """(dL/dx, dL/dK, dL/db) by autograd through the loop, recomputed from x, K, b, with
    ``create_graph``: the fallback for double backward (memory O(N) for that pass)."""
    inputs = [t for t, need in zip((x, K, b), needs, strict=True) if need]
    with torch.enable_grad():
        state = loop.steps(loop.integrator.init(x), K.unbind(0), b.unbind(0), 0, K.shape[0])
        grads = iter(torch.autograd.grad(state, inputs, g, create_graph=True,
                                         allow_unused=True, materialize_grads=True))
    return [next(grads) if need else None for need in needs]


def _autocast_enabled(device_type: str) -> bool:
    try:
        return torch.is_autocast_enabled(device_type)
    except TypeError:  # torch < 2.4: no device argument
        return torch.is_autocast_enabled() or (
            device_type == "cpu" and torch.is_autocast_cpu_enabled())


def _compiling() -> bool:
    compiler = getattr(torch, "compiler", None)
    if compiler is not None and hasattr(compiler, "is_compiling"):
        return compiler.is_compiling()
    return torch._dynamo.is_compiling()  # torch < 2.3


def hand_written(loop: Loop, x: Tensor, autocast_ok: bool = False) -> bool:
    """True if the written adjoint applies to ``loop`` now (see the module docstring)."""
    functorch_active = getattr(torch._C, "_are_functorch_transforms_active", lambda: False)
    return (
        loop.integrator.has_adjoint and getattr(loop.field, "has_vjp", False)
        and not _compiling() and not functorch_active()
        and (autocast_ok or not _autocast_enabled(x.device.type))
    )
