"""Build blocks and models by name, and save / load them with their config.

``build_model(**model.config)`` rebuilds any model; ``save(model, path)`` writes
``{"state_dict": ..., "config": ...}`` (atomically) and ``load(path)`` returns the rebuilt
model in eval mode; a named block is saved with its ``block_config`` and loaded alike.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from .activations import ACTIVATIONS
from .blocks import StableBlock
from .checks import choice
from .errors import CheckpointError, ConfigError, ConfigTypeError
from .io import load_torch, save_torch
from .layers import default_gamma
from .memory import MemorySpec, as_memory, from_legacy
from .models import Model, StableClassifier, StableImageNet
from .preprocessing import check_data_info, make_preprocess
from .schemes import ARCHITECTURES, CONV_BLOCKS, DENSE_BLOCKS, integrator_for


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
    gamma: float | None = None, opening: str = "pad", memory: MemorySpec = "store",
    init: str = "smooth", integrator: str | None = None,
    standardize: str = "none", data_info: dict[str, Any] | None = None,
) -> Model:
    """A classifier for inputs of ``input_shape`` (``(n,)`` features or ``(C, H, W)`` images).

    For images ``width`` is the channel list of the stages (an int means one stage) and
    ``depth`` the number of layers per stage (an int or one per stage). ``memory`` (a
    :mod:`stablenet.memory` mode or its name) sets every block's memory mode (each block
    owns a copy, :meth:`StableBlock.set_memory`); the config records it readably,
    ``memory={"mode": "checkpoint", "every": 4}``. ``init`` names the law of the blocks'
    K(t) (``"smooth"``, ``"constant"``, ``"iid"``; see :mod:`stablenet.timegrid`).
    ``integrator``: the blocks' time stepper (None: the architecture's own; the first-order
    networks also take ``"midpoint"``, see :func:`stablenet.schemes.integrator_for`; the
    config records the name used). ``gamma``: the antisymmetric network's damping (None:
    :func:`stablenet.layers.default_gamma`, 2 / T or 0 under the midpoint rule; the config
    records the value used).
    ``standardize="features"`` makes the first stage a
    :class:`stablenet.preprocessing.Standardize` (statistics set by its ``fit``, saved in the
    state dict); ``data_info`` (class names, feature names, input scaling) is
    kept in the config (see :mod:`stablenet.preprocessing`).
    """
    stepper = integrator_for(_check_arch(arch), integrator)
    if gamma is None:  # (used by the antisymmetric network alone)
        gamma = default_gamma(T, stepper if arch == "antisymmetric" else None)
    config = dict(
        arch=_check_arch(arch), input_shape=[int(s) for s in input_shape],
        num_classes=num_classes, width=width if isinstance(width, int) else list(width),
        depth=depth if isinstance(depth, int) else list(depth), T=T, activation=activation,
        bias=bias, gamma=gamma, opening=opening, memory=as_memory(memory).to_config(),
        init=init, integrator=stepper.name, standardize=standardize,
        data_info=check_data_info(data_info, num_classes, input_shape),
    )
    preprocess = make_preprocess(standardize, input_shape)
    extra = {"gamma": gamma} if arch == "antisymmetric" else {}
    extra.update(memory=memory, init=init, integrator=stepper.name)
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
    model = StableImageNet(blocks, input_shape[0], num_classes, config, preprocess)
    model.check_input(torch.empty(0, *input_shape, device="meta"))  # enough stages' pixels
    return model


def block_config(block: StableBlock) -> dict[str, Any] | None:
    """The :func:`build_block` arguments that rebuild a named block (``HamiltonianNet``,
    ``ConvLeapfrogNet``, ... or ``build_block(...)``), or None for any other block."""
    sigma = getattr(block.field, "sigma", None) or getattr(getattr(block.field, "force", None),
                                                           "sigma", None)
    activation = next((name for name, f in ACTIVATIONS.items() if f is sigma), None)
    for conv, table in ((False, DENSE_BLOCKS), (True, CONV_BLOCKS)):
        arch = next((a for a, cls in table.items() if type(block) is cls), None)
        if arch is not None and activation is not None:
            config: dict[str, Any] = dict(
                arch=arch, width=block.width, depth=block.depth, T=block.T, conv=conv,
                activation=activation, bias=block.bias_mode,
                memory=block.memory.to_config(), init=block.init.name if block.init else "smooth")
            if arch == "antisymmetric":
                config["gamma"] = block.parametrization.gamma
            if block.integrator.name != integrator_for(arch).name:
                config["integrator"] = block.integrator.name
            if conv:
                config["kernel_size"] = block.operator.kernel_size
            return config
    return None


SAVABLE = ("the models of stablenet.build_model (StableClassifier, StableImageNet) and the "
           "named blocks (HamiltonianNet, ConvLeapfrogNet, ..., or build_block(...)) with a "
           "named activation")


def save(module: Model | StableBlock, path: str | os.PathLike) -> Path:
    """Write ``{"state_dict", "config"}`` of a model, or ``{"state_dict", "block_config"}``
    of a named block, atomically: enough for :func:`load` to rebuild it. Anything else
    (an ``nn.Sequential`` of blocks, a block assembled from parts) is refused with a
    ConfigTypeError: save its ``state_dict`` and rebuild the module in your code."""
    if Path(path).is_dir():
        raise ConfigError(f"{path} is a directory; give a file name, e.g. "
                          f"{Path(path) / 'model.pt'}")
    if isinstance(module, (StableClassifier, StableImageNet)):
        payload = {"state_dict": module.state_dict(), "config": module.config}
    elif isinstance(module, StableBlock) and block_config(module) is not None:
        payload = {"state_dict": module.state_dict(), "block_config": block_config(module)}
    else:
        inside = sum(isinstance(m, StableBlock) for m in module.modules()) \
            if isinstance(module, torch.nn.Module) else 0
        held = f" (it contains {inside} stable block(s))" if inside else ""
        raise ConfigTypeError(
            f"stablenet.save saves {SAVABLE}; got a {type(module).__name__}{held}, which "
            "load could not rebuild. Save its weights with torch.save(module.state_dict(), "
            "path) and rebuild the module in your code before module.load_state_dict(...)")
    return save_torch(payload, path)


def model_file(path: str | os.PathLike) -> Path:
    """``path`` itself, or the ``model.pt`` of a training run's directory ``path``."""
    path = Path(path)
    if not path.is_dir():
        return path
    if not (path / "model.pt").is_file():
        raise CheckpointError(f"{path} is a directory without model.pt (a training run has no "
                              "model.pt until it finishes); give a finished training run's "
                              "directory or a model file")
    return path / "model.pt"


def load(path: str | os.PathLike, map_location: Any = "cpu") -> Model | StableBlock:
    """Rebuild what :func:`save` wrote (or a training run's ``model.pt``; ``path`` may be
    the run's directory), in eval mode (batch norm uses its running statistics); call
    ``.train()`` to train it further."""
    path = model_file(path)
    payload = load_torch(path, "model file", map_location)
    kind = "config" if isinstance(payload, dict) and "config" in payload else "block_config"
    if not isinstance(payload, dict) or not {"state_dict", kind} <= payload.keys():
        raise CheckpointError(
            f"{path} is not a stablenet model file (expected a dict with 'state_dict' and "
            "'config', as stablenet.save writes)"
        )
    state = payload["state_dict"]
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise CheckpointError(f"{path} is damaged or was edited: its state_dict is not a dict "
                              "of tensors; save the model again")
    module = _rebuild(payload[kind], kind, path)
    dtypes = {v.dtype for v in state.values() if v.is_floating_point()}
    if len(dtypes) == 1:  # keep the saved precision (e.g. a float64 run stays float64)
        module.to(dtypes.pop())
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"{path} does not match its config: {exc}") from None
    return module.eval()


def _rebuild(config: Any, kind: str, path: Path) -> Model | StableBlock:
    """``build_model(**config)`` (or ``build_block``), a CheckpointError for a bad config."""
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise CheckpointError(f"{path} is damaged or was edited: its {kind} is not a dict of "
                              "named arguments; save the model again")
    try:
        config = upgrade_config(config)
        return build_model(**config) if kind == "config" else build_block(**config)
    except (TypeError, KeyError, AttributeError, ValueError, IndexError) as exc:
        raise CheckpointError(
            f"{path} holds an invalid {kind} ({type(exc).__name__}: {exc}); it was edited or "
            "written by another version of stablenet: save the model again"
        ) from None


def upgrade_config(config: dict[str, Any]) -> dict[str, Any]:
    """A model config in today's form: files written before the memory-mode objects hold
    ``memory`` as a name and the checkpoint segment length as ``checkpoint``."""
    config = dict(config)
    if "checkpoint" in config or isinstance(config.get("memory"), str):
        config["memory"] = from_legacy(config.get("memory", "store"),
                                       config.pop("checkpoint", None)).to_config()
    return config
