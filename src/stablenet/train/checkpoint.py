"""Training checkpoints: ``DIR/checkpoint.pt``, written atomically, read with clear errors.

A checkpoint is a dict with ``format = "stablenet-checkpoint"``, ``version``, the resolved
``config`` (:class:`TrainConfig` as a dict), the ``model_config`` (what
:func:`stablenet.build_model` needs), the weights ``model``, and the ``trainer`` state
(level, epoch, position in the epoch, optimizer, schedule step, best weights, RNG
states, history). Reading refuses, with :class:`~stablenet.errors.CheckpointError`, a
missing, truncated or corrupt file, a file that is not a stablenet checkpoint, and one
whose architecture or shapes differ from the model it is loaded into (naming the field).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import CheckpointError, UserError
from ..io import save_torch
from ..memory import from_legacy

FORMAT = "stablenet-checkpoint"
VERSION = 1
REQUIRED = ("config", "model_config", "model", "trainer")
#: config fields that fix the network's architecture and parameter shapes
ARCH_FIELDS = ("arch", "width", "channels", "depth", "levels", "T", "activation", "bias",
               "opening", "gamma", "dataset")


def save_checkpoint(path: str | os.PathLike, payload: dict[str, Any]) -> Path:
    """Write ``payload`` (with the format tag added) to ``path`` atomically."""
    return save_torch({"format": FORMAT, "version": VERSION, **payload}, path)


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """Read and check a checkpoint written by :func:`save_checkpoint`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; there is no run to resume there")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # truncated zip, bad pickle, not a torch file at all
        detail = str(exc).splitlines()[0] if str(exc) else ""
        if "Unsupported global" in str(exc):
            detail = "it holds Python objects that no stablenet checkpoint contains"
        raise CheckpointError(
            f"{path} cannot be read as a stablenet checkpoint: it is corrupt, truncated or "
            f"foreign ({type(exc).__name__}: {detail})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is not a stablenet training checkpoint (no format tag {FORMAT!r}); "
            "--resume needs the DIR/checkpoint.pt written by `stablenet train --out DIR`"
        )
    if payload.get("version") != VERSION:
        raise CheckpointError(
            f"{path} has checkpoint version {payload.get('version')!r}; this stablenet reads "
            f"version {VERSION}"
        )
    missing = [k for k in REQUIRED if k not in payload]
    if missing:
        raise CheckpointError(f"{path} is incomplete: missing {', '.join(missing)}")
    return payload


def check_same(saved: dict[str, Any], wanted: dict[str, Any], path: str | os.PathLike,
               fields: Iterable[str] = ARCH_FIELDS) -> None:
    """Raise CheckpointError naming the first field in which ``saved`` and ``wanted`` differ."""
    for key in fields:
        if key in wanted and wanted[key] is not None and saved.get(key) != wanted[key]:
            raise CheckpointError(
                f"{path} was written for {key}={saved.get(key)!r}, but this run has "
                f"{key}={wanted[key]!r}; resume with the same {key} or start a new run "
                "in another --out directory"
            )


def check_resume_options(saved: dict[str, Any], given: dict[str, Any],
                         path: str | os.PathLike) -> None:
    """CheckpointError when an option ``given`` with ``--resume`` (other than ``device``,
    which may move a run) differs from the ``saved`` config: a resumed run keeps its own."""
    for key, value in given.items():
        old, flag = saved.get(key), "--" + key.replace("_", "-")
        if key == "memory":  # compared in its readable form (older files: a name + segment)
            old, value, flag = _memory(saved), _memory({"memory": value}), MEMORY_FLAGS
        if key != "device" and old != value:
            raise CheckpointError(
                f"{path} was written with {flag} {old!r} but {flag} {value!r} was "
                f"given; a resumed run keeps its config (drop {flag}, or train anew in "
                "another --out directory)"
            )


MEMORY_FLAGS = "--reversible / --checkpoint K"
"""The command-line flags that choose ``TrainConfig.memory``."""


def _memory(config: dict[str, Any]) -> Any:
    """The memory mode of a training config as ``{"mode": ..., ...}``; configs written before
    the mode objects hold a name and ``checkpoint_segment``."""
    try:
        return from_legacy(config.get("memory", "store"),
                           config.get("checkpoint_segment")).to_config()
    except UserError:
        return config.get("memory")


def load_model_state(model: nn.Module, state: dict[str, Any], path: str | os.PathLike) -> None:
    """``model.load_state_dict(state)``, with a CheckpointError naming a differing tensor."""
    own = model.state_dict()
    for key in sorted(set(own) | set(state)):
        if key not in state:
            raise CheckpointError(f"{path} has no tensor {key!r}: it is from another architecture")
        if key not in own:
            raise CheckpointError(f"{path} has the tensor {key!r} this model does not have: "
                                  "it is from another architecture")
        if tuple(own[key].shape) != tuple(state[key].shape):
            raise CheckpointError(
                f"{path}: {key!r} has shape {list(state[key].shape)} in the checkpoint but "
                f"{list(own[key].shape)} in the model (a different width or depth)"
            )
    model.load_state_dict(state)
