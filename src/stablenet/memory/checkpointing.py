"""Checkpointed integration: keep every k-th state, recompute segments during backward.

The N layers are cut into segments of k; each segment but the last runs under
``torch.utils.checkpoint`` (non-reentrant), which keeps only its input state and
recomputes its k steps when the backward pass reaches it. Activation memory is
O(N / k + k) states, O(sqrt N) for the default k = ceil(sqrt N), at the cost of one
extra forward pass. Works for every integrator.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from torch import Tensor
from torch.utils.checkpoint import checkpoint

from ..integrators.base import State

Steps = Callable[..., State]


def segment_length(depth: int, every: int | None) -> int:
    """k: the given segment length (at most ``depth``), or ceil(sqrt(depth)) for ``None``."""
    if every is None:
        return math.isqrt(depth - 1) + 1
    return min(every, depth)


def _segment(steps: Steps, Ks: Sequence[Tensor], bs: Sequence[Tensor], start: int, stop: int,
             *state: Tensor) -> State:
    return steps(state, Ks, bs, start, stop)


def checkpointed_steps(
    steps: Steps, state: State, Ks: Sequence[Tensor], bs: Sequence[Tensor], depth: int,
    k: int,
) -> State:
    """Run ``steps(state, Ks, bs, start, stop)`` over layers 0..depth-1 in segments of k."""
    starts = range(0, depth, k)
    for start in starts[:-1]:
        state = checkpoint(
            _segment, steps, Ks, bs, start, start + k, *state,
            use_reentrant=False, preserve_rng_state=False,
        )
    return steps(state, Ks, bs, starts[-1], depth)
