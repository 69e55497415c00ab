"""Build blocks and models by name, and save / load them with their config.

``build_model(**model.config)`` rebuilds any model; ``save(model, path)`` writes
``{"state_dict": ..., "config": ...}`` and ``load(path)`` returns the rebuilt model.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch

from .blocks import StableBlock
from .checks import choice
from .errors import CheckpointError, ConfigError
from .layers import DEFAULT_GAMMA
from .memory import MemorySpec, as_memory, from_legacy
from .models import Model, StableClassifier, StableImageNet
from .preprocessing import check_data_info, make_preprocess
from .schemes import ARCHITECTURES, CONV_BLOCKS, DENSE_BLOCKS


def _check_arch(arch: str) -> str:
    return choice("architecture", arch, ARCHITECTURES)


def build_block(
    arch: str, width: int, depth: int, T: float, conv: bool = False, **kwargs: Any
) -> StableBlock:
    """A named block: ``arch`` in ARCHITECTURES, dense (width) or conv (channels)."""
    table = CONV_BLOCKS if conv else DENSE_BLOCKS
    return table[_check_arch(arch)](width, depth, T, **kwargs)


def build_model(
    arch: str, input_shape: Sequence[int], num_classes: int, width: int | Sequence[int],
    depth: int | Sequence[int], T: float, activation: str = "tanh", bias: str = "scalar",
    gamma: float = DEFAULT_GAMMA, opening: str = "pad", memory: MemorySpec = "store",
    init: str = "smooth",
    standardize: str = "none", data_info: dict[str, Any] | None = None,
) -> Model:
    """A classifier for inputs of ``input_shape`` (``(n,)`` features or ``(C, H, W)`` images).

    For images ``width`` is the channel list of the stages (an int means one stage) and
    ``depth`` the number of layers per stage (an int or one per stage). ``memory`` (a
    :mod:`stablenet.memory` mode or its name) sets every block's memory mode (each block
    owns a copy, :meth:`StableBlock.set_memory`); the config records it readably,
    ``memory={"mode": "checkpoint", "every": 4}``. ``init`` names the law of the blocks'
    K(t) (``"smooth"``, ``"constant"``, ``"iid"``; see :mod:`stablenet.timegrid`).
    ``standardize="features"`` makes the first stage a
    :class:`stablenet.preprocessing.Standardize` (statistics set by its ``fit``, saved in the
    state dict); ``data_info`` (class names, feature names, input scaling) is
    kept in the config (see :mod:`stablenet.preprocessing`).
    """
    config = dict(
        arch=_check_arch(arch), input_shape=[int(s) for s in input_shape],
        num_classes=num_classes, width=width if isinstance(width, int) else list(width),
        depth=depth if isinstance(depth, int) else list(depth), T=T, activation=activation,
        bias=bias, gamma=gamma, opening=opening, memory=as_memory(memory).to_config(),
        init=init, standardize=standardize,
        data_info=check_data_info(data_info, num_classes, input_shape),
    )
    preprocess = make_preprocess(standardize, input_shape)
    extra = {"gamma": gamma} if arch == "antisymmetric" else {}
    extra.update(memory=memory, init=init)
    if len(input_shape) == 1:
        if not isinstance(width, int) or not isinstance(depth, int):
            raise ConfigError("a dense model takes one integer width and one integer depth")
        block = build_block(arch, width, depth, T, activation=activation, bias=bias, **extra)
        return StableClassifier(block, input_shape[0], num_classes, opening, config, preprocess)
    if len(input_shape) != 3:
        raise ConfigError(f"input_shape must be (features,) or (C, H, W), got {input_shape}")
    widths = [width] if isinstance(width, int) else list(width)
    depths = [depth] * len(widths) if isinstance(depth, int) else list(depth)
    if len(depths) != len(widths):
        raise ConfigError(f"{len(widths)} stages of width {widths} but {len(depths)} depths")
    blocks = [
        build_block(arch, c, n, T, conv=True, activation=activation, bias=bias, **extra)
        for c, n in zip(widths, depths, strict=False)
    ]
    return StableImageNet(blocks, input_shape[0], num_classes, config, preprocess)


def save(model: Model, path: str | os.PathLike) -> None:
    """Write ``{"state_dict", "config"}``, enough for :func:`load` to rebuild the model."""
    torch.save({"state_dict": model.state_dict(), "config": model.config}, path)


def load(path: str | os.PathLike, map_location: Any = "cpu") -> Model:
    """Rebuild a model saved by :func:`save` (or a training run's ``model.pt``)."""
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"model file {path} does not exist") from None
    except Exception as exc:  # corrupt, truncated or not a torch file
        raise CheckpointError(f"cannot read model file {path}: {exc}") from None
    if not isinstance(payload, dict) or not {"state_dict", "config"} <= payload.keys():
        raise CheckpointError(
            f"{path} is not a stablenet model file (expected a dict with 'state_dict' and "
            "'config')"
        )
    model = build_model(**upgrade_config(payload["config"]))
    state = payload["state_dict"]
    dtypes = {v.dtype for v in state.values() if torch.is_tensor(v) and v.is_floating_point()}
    if len(dtypes) == 1:  # keep the saved precision (e.g. a float64 run stays float64)
        model.to(dtypes.pop())
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"{path} does not match its config: {exc}") from None
    return model


def upgrade_config(config: dict[str, Any]) -> dict[str, Any]:
    """A model config in today's form: files written before the memory-mode objects hold
    ``memory`` as a name and the checkpoint segment length as ``checkpoint``."""
    config = dict(config)
    if "checkpoint" in config or isinstance(config.get("memory"), str):
        config["memory"] = from_legacy(config.get("memory", "store"),
                                       config.pop("checkpoint", None)).to_config()
    return config
