"""The analysed network: its stable blocks, their inputs, and their trajectories.

Every analysis runs on a float64 CPU copy of the network (``analysis_copy``) in eval
mode, so growth factors up to ~1e300 are representable, batch norm uses its running
statistics, a model trained on a GPU needs no device handling, and the user's module is
never changed. Every analysis starts with :func:`analysed`: the module's stable blocks (a
block, a model's ``.blocks``, or the blocks inside any module such as an
``nn.Sequential``), the finite-value check of its weights and inputs
(:func:`check_finite`, before any spectrum: NaN reaching LAPACK can crash the process),
the copy, and the inputs of its blocks. The block's loop is re-run here from its public
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
from ..errors import ConfigError, ConfigTypeError, NonFiniteError
from ..integrators.base import State

DTYPE = torch.float64
DEVICE = torch.device("cpu")


def is_block(module: nn.Module) -> bool:
    return isinstance(module, StableBlock)


def stable_blocks(model_or_block: nn.Module) -> list[StableBlock]:
    """The stable blocks of a model (its ``.blocks``), ``[block]`` for a block, or the
    stable blocks inside any other module (``nn.Sequential`` etc.), in registration order."""
    if is_block(model_or_block):
        return [model_or_block]
    blocks = getattr(model_or_block, "blocks", None)
    if blocks is not None and all(is_block(b) for b in blocks):
        return list(blocks)
    found = [m for m in model_or_block.modules() if is_block(m)] \
        if isinstance(model_or_block, nn.Module) else []
    if not found:
        raise ConfigTypeError(
            f"expected a StableBlock, a model with .blocks, or a module containing stable "
            f"blocks; got {type(model_or_block).__name__}, which contains none"
        )
    return found


def _first_bad(t: Tensor, layered: bool = False) -> str:
    """How many entries of ``t`` are NaN / Inf and where the first is (its layer, for the
    stacked weights ``[N, ...]`` of a block)."""
    t = t.detach()
    bad = ~torch.isfinite(t)
    index = [int(i) for i in bad.nonzero()[0]]
    nan = int(torch.isnan(t).sum())
    where = f"layer {index[0]}, index {index}" if layered else f"index {index}"
    return f"{nan} NaN and {int(bad.sum()) - nan} Inf of its {t.numel()} entries (first at {where})"


def check_finite(module: nn.Module, x: Tensor | None = None) -> None:
    """NonFiniteError naming the first parameter or buffer of ``module`` (or the inputs
    ``x``) that holds NaN or Inf: no spectrum or norm of such a network means anything."""
    for name, t in [*module.named_parameters(), *module.named_buffers()]:
        if t.is_floating_point() and not bool(torch.isfinite(t.detach()).all()):
            layered = name.rsplit(".", 1)[-1] in ("K", "b")  # a block's [N, ...] weights
            raise NonFiniteError(
                f"the weights are not finite: the tensor {name!r} of this "
                f"{type(module).__name__} holds {_first_bad(t, layered)}. No stability "
                "analysis of it means anything: it comes from a diverged training or a "
                "damaged file; analyse a good checkpoint or retrain"
            )
    if x is not None and x.is_floating_point() and not bool(torch.isfinite(x.detach()).all()):
        raise NonFiniteError(f"the inputs are not finite: x holds {_first_bad(x)}; remove or "
                             "fix those rows of the data")


def analysed(model_or_block: nn.Module, x: Tensor | None = None
             ) -> tuple[nn.Module, list[StableBlock], list[Tensor | None]]:
    """What every analysis starts from: (the float64 copy, its stable blocks, each
    block's input Y_0, or None without ``x``), after :func:`check_finite`."""
    stable_blocks(model_or_block)  # a clear error for a module without stable blocks
    check_finite(model_or_block, x)
    net = analysis_copy(model_or_block)
    blocks = stable_blocks(net)
    if x is None:
        return net, blocks, [None] * len(blocks)
    inputs = block_inputs(net, x)
    for i, y0 in enumerate(inputs):
        if not bool(torch.isfinite(y0).all()):
            raise NonFiniteError(f"the input of block {i} is not finite although x is: the "
                                 f"layers before block {i} overflow ({_first_bad(y0)})")
    return net, blocks, list(inputs)


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
    missing = [i for i in range(len(blocks)) if i not in captured]
    if missing:
        raise ConfigError(f"the stable block(s) {missing} of this {type(model).__name__} are "
                          "not called by its forward; analyse the blocks it uses")
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
