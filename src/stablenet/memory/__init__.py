"""Memory modes of a block's backward pass: how much of the trajectory is kept.

A mode is one object, passed as ``memory=`` to a block (or ``build_model``, ``TrainConfig``)
and owned by the block:

* :class:`Store` ``()`` (default): ordinary autograd keeps every layer's state, memory O(N).
* :class:`Checkpoint` ``(every=k)``: keep every k-th state, recompute each segment of k
  layers during backward (``torch.utils.checkpoint``), memory O(N / k + k); any integrator.
* :class:`Reversible` ``(drift_tol=1e-3)``: keep only the final full state and reconstruct
  each layer's input by the integrator's exact inverse step during backward, memory O(1) in
  N; only for invertible integrators (Verlet, leapfrog).

The names ``"store"``, ``"checkpoint"``, ``"reversible"`` are shorthands for the default
object of each mode (:func:`as_memory`). Each mode validates itself against the block's
integrator and integrates the block's :class:`Loop`; the integration routines
(:func:`checkpointed_steps`, :func:`reversible_integrate`) take callables and tensors only.
"""

from .adjoint import DiscreteAdjoint, hand_written
from .checkpointing import checkpointed_steps, segment_length
from .drift import DRIFT_TOL, DriftRecord
from .loop import Loop
from .modes import (
    MODES,
    Checkpoint,
    MemoryMode,
    MemorySpec,
    NotInvertibleError,
    Reversible,
    Store,
    as_memory,
    from_legacy,
)
from .reversible import ReversibleIntegration, reversible_integrate
from .reversible_adjoint import reversible_adjoint

__all__ = [
    "DRIFT_TOL", "MODES", "Checkpoint", "DiscreteAdjoint", "DriftRecord", "Loop",
    "MemoryMode", "MemorySpec", "NotInvertibleError", "Reversible", "ReversibleIntegration",
    "Store", "as_memory", "checkpointed_steps", "from_legacy", "hand_written",
    "reversible_adjoint", "reversible_integrate", "segment_length",
]
