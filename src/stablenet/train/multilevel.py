"""Multilevel training in depth (PAPER.md 4): coarse to fine at a fixed final time T.

A block of N layers holds parameters theta_j at the times t_j = j h, h = T / N. Its
prolongation to M layers (h' = T / M) sets theta'_i = theta(s_i), s_i = i h', where
theta(t) is the piecewise-linear interpolant of the old values in time, held constant
at theta_{N-1} beyond the last old time t_{N-1}:

    theta'_i = (1 - w) theta_j + w theta_{j+1},  j = floor(s_i / h), w = s_i / h - j
    theta'_i = theta_{N-1}                       if s_i >= t_{N-1}

For M = 2N (the paper's doubling): theta'_{2j} = theta_j, theta'_{2j+1} = (theta_j +
theta_{j+1}) / 2 and theta'_{2N-1} = theta_{N-1}. Every stacked parameter (K and b) is
interpolated over dim 0; the opening, connectors and classifier carry over unchanged.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..blocks import StableBlock
from ..layers.operators import check_positive_int


def interpolate_in_time(theta: Tensor, new_depth: int) -> Tensor:
    """Resample ``theta: [N, ...]`` (values at t_j = j T/N) to ``[new_depth, ...]`` at i T/M."""
    check_positive_int("new_depth", new_depth)
    n = theta.shape[0]
    s = torch.arange(new_depth, dtype=torch.float64) * (n / new_depth)  # s_i / h, old units
    j = s.floor().long().clamp(max=n - 1)
    w = (s - j).clamp(max=1.0)
    w = torch.where(j >= n - 1, torch.zeros_like(w), w)  # hold the last value constant
    j1 = (j + 1).clamp(max=n - 1)
    w = w.to(theta.dtype).to(theta.device).reshape(-1, *([1] * (theta.dim() - 1)))
    return (1 - w) * theta[j] + w * theta[j1]


def prolong(block: StableBlock, factor: int = 2) -> StableBlock:
    """A copy of ``block`` with ``factor`` times the depth at the same T, interpolated in time."""
    new = block.resized(block.depth * factor)
    with torch.no_grad():
        new.K.copy_(interpolate_in_time(block.K.detach(), new.depth))
        new.b.copy_(interpolate_in_time(block.b.detach(), new.depth))
    return new


def prolong_model(model: nn.Module, factor: int = 2) -> nn.Module:
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
