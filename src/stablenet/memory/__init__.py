"""Memory modes of a block's backward pass: how much of the trajectory is kept.

* ``"store"`` (default): ordinary autograd keeps every layer's state, memory O(N).
* ``"checkpoint"``: keep every k-th state, recompute each segment of k layers during
  backward (``torch.utils.checkpoint``), memory O(N / k + k); any integrator.
* ``"reversible"``: keep only the final full state and reconstruct each layer's input
  by the integrator's exact inverse step during backward, memory O(1) in N; only for
  invertible integrators (Verlet, leapfrog).

The block chooses the mode once per forward (:meth:`StableBlock.forward`); the modes
only need the block's one loop over layers (``block.steps``) and its integrator.
"""

from .checkpointing import checkpointed_steps, segment_length
from .modes import MEMORY_MODES, resolve_memory
from .reversible import DRIFT_TOL, ReversibleIntegration, reversible_integrate

__all__ = [
    "DRIFT_TOL", "MEMORY_MODES", "ReversibleIntegration", "checkpointed_steps",
    "resolve_memory", "reversible_integrate", "segment_length",
]
