"""Multilevel training in depth (Haber & Ruthotto 2018; docs/theory.md 4): coarse to fine
at a fixed final time T.

A block of N layers holds parameters theta_j at the times t_j = j h, h = T / N. Its
prolongation to M layers (h' = T / M) sets theta'_i = theta(i h'), theta(t) the
piecewise-linear interpolant of the old values in time
(:func:`stablenet.timegrid.interpolate_in_time`). For weights that are samples of a smooth
theta(t) (the default initialisation, and trained weights kept smooth by the time-smoothness
penalty) the prolonged network's output differs from the coarse one by O(h). Every stacked
parameter (K and b) is interpolated over dim 0; the opening, connectors and classifier carry
over unchanged.
"""

from __future__ import annotations

import torch

from ..blocks import StableBlock
from ..interfaces import StableModel
from ..timegrid import interpolate_in_time

__all__ = ["interpolate_in_time", "level_depth", "prolong", "prolong_model"]


def prolong(block: StableBlock, factor: int = 2) -> StableBlock:
    """A copy of ``block`` with ``factor`` times the depth at the same T, interpolated in time."""
    new = block.resized(block.depth * factor)
    with torch.no_grad():
        new.K.copy_(interpolate_in_time(block.K.detach(), new.depth))
        new.b.copy_(interpolate_in_time(block.b.detach(), new.depth))
    return new


def prolong_model(model: StableModel, factor: int = 2) -> StableModel:
    """Prolong every stable block of ``model`` in place; updates ``model.config["depth"]``."""
    for i, block in enumerate(model.blocks):
        model.blocks[i] = prolong(block, factor)
    depth = model.config.get("depth")
    if isinstance(depth, int):
        model.config["depth"] = depth * factor
    elif isinstance(depth, list):
        model.config["depth"] = [d * factor for d in depth]
    return model


def level_depth(depth: int, level: int) -> int:
    """The depth at level ``level`` (0-based) of multilevel training: ``depth * 2**level``."""
    return depth * 2**level
