"""Seeding and saving every random number generator a training run touches.

torch (CPU and CUDA), numpy's global generator, Python's ``random`` and the run's own
data-order generator (a ``torch.Generator`` that draws each epoch's permutation). The
saved states hold only tensors, numbers, strings and tuples, so checkpoints load with
``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int) -> torch.Generator:
    """Seed torch, numpy and random with ``seed``; return the data-order generator."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)
    return torch.Generator().manual_seed(seed)


def rng_state(data_order: torch.Generator) -> dict[str, Any]:
    """The states of all generators (see the module docstring)."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": (name, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached),
        "python": random.getstate(),
        "data_order": data_order.get_state(),
    }


def set_rng_state(state: dict[str, Any], data_order: torch.Generator) -> None:
    """Restore the states saved by :func:`rng_state` (CUDA only where available)."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    data_order.set_state(state["data_order"])
