"""The analysed network: its stable blocks, their inputs, and their trajectories.

Every analysis runs on a float64 CPU copy of the network (``analysis_copy``) in eval
mode, so growth factors up to ~1e300 are representable, batch norm uses its running
statistics, a model trained on a GPU needs no device handling, and the user's module is
never changed. The block's loop is re-run here from its public
parts (``weights()``, ``field``, ``integrator``, ``h``, ``depth``), so every quantity is
the mathematics of the discretisation, independent of the block's memory mode.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Iterator

import torch
from torch import Tensor, nn

from ..blocks import StableBlock
from ..errors import ConfigTypeError
from ..integrators.base import State

DTYPE = torch.float64
DEVICE = torch.device("cpu")


def is_block(module: nn.Module) -> bool:
    return isinstance(module, StableBlock)


def stable_blocks(model_or_block: nn.Module) -> list[StableBlock]:
    """The stable blocks of a model (its ``.blocks``), or ``[block]`` for a block."""
    if is_block(model_or_block):
        return [model_or_block]
    blocks = getattr(model_or_block, "blocks", None)
    if blocks is None or not all(is_block(b) for b in blocks):
        raise ConfigTypeError(
            f"expected a StableBlock or a model with .blocks of StableBlocks, got "
            f"{type(model_or_block).__name__}"
        )
    return list(blocks)


def analysis_copy(module: nn.Module) -> nn.Module:
    """A float64, CPU, eval-mode deep copy of ``module`` (the original is left untouched)."""
    return copy.deepcopy(module).to(device=DEVICE, dtype=DTYPE).eval()


def as_input(x: Tensor) -> Tensor:
    """``x`` as a float64 CPU tensor, cut from any graph."""
    return x.detach().to(device=DEVICE, dtype=DTYPE)


def block_inputs(model: nn.Module, x: Tensor) -> list[Tensor]:
    """The input Y_0 of every stable block when ``model`` maps ``x`` (no grad)."""
    blocks = stable_blocks(model)
    if is_block(model):
        return [as_input(x)]
    captured: dict[int, Tensor] = {}
    hooks = [
        blk.register_forward_pre_hook(lambda _m, args, i=i: captured.setdefault(i, args[0]))
        for i, blk in enumerate(blocks)
    ]
    try:
        with torch.no_grad():
            model(as_input(x))
    finally:
        for hook in hooks:
            hook.remove()
    return [captured[i].detach() for i in range(len(blocks))]


def iterate_states(block: StableBlock, y0: Tensor) -> Iterator[State]:
    """Yield the integrator's full state before layer 0, 1, ..., N (N + 1 states)."""
    integ, field, h = block.integrator, block.field, block.h
    K, b = block.weights()
    state = integ.init(y0)
    yield state
    for j in range(block.depth):
        state = integ.step(field, (K[j], b[j]), h, state)
        yield state


def propagate(block: StableBlock, y0: Tensor) -> Tensor:
    """Y_N = the block's output for input Y_0 (the loop re-run from the block's parts)."""
    final = deque(iterate_states(block, y0), maxlen=1)[0]  # keeps only the last state
    return block.integrator.output(final)


def named_state(block: StableBlock, state: State) -> dict[str, Tensor]:
    """The integrator's state as ``{name: tensor}`` (e.g. ``{"z": z_j, "y": y_j}``)."""
    return dict(zip(block.integrator.state_names, state, strict=True))
