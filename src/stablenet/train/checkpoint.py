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
from ..io import load_torch, save_torch
from ..memory import from_legacy

FORMAT = "stablenet-checkpoint"
VERSION = 1
REQUIRED = ("config", "model_config", "model", "trainer")
START_ANEW = "start the run anew with --overwrite (or in another --out directory)"
_MISSING = object()
#: the entries of the trainer's position and their types (ints are >= 0)
POSITION_TYPES: dict[str, tuple[type, ...]] = {
    "level": (int,), "epoch": (int,), "batch": (int,), "step_k": (int,),
    "started": (bool,), "complete": (bool,), "perm": (torch.Tensor, type(None)),
    "sums": (list, tuple), "best": (dict,), "history": (list,), "seconds": (int, float),
    "metrics": (dict, type(None)), "optimizer": (dict, type(None)), "rng": (dict,),
}
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
    payload = load_torch(path, "checkpoint", map_location)
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
    for key in REQUIRED:
        if not isinstance(payload[key], dict):
            raise CheckpointError(f"{path} is damaged or was edited: its {key!r} is a "
                                  f"{type(payload[key]).__name__}, not a dict; {START_ANEW}")
    if not all(torch.is_tensor(v) for v in payload["model"].values()):
        raise CheckpointError(f"{path} is damaged or was edited: its weights are not all "
                              f"tensors; {START_ANEW}")
    check_position(payload["trainer"], path)
    return payload


def check_position(position: dict[str, Any], path: str | os.PathLike) -> None:
    """CheckpointError naming the first entry of the trainer's position that is missing or
    of the wrong type (a hand-edited checkpoint), before any of it is used."""
    for key, kinds in POSITION_TYPES.items():
        value = position.get(key, _MISSING)
        if value is _MISSING:
            raise CheckpointError(f"{path} is damaged or was edited: the trainer position has "
                                  f"no {key!r}; {START_ANEW}")
        ok = (isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
              and not (isinstance(value, int) and not isinstance(value, bool) and value < 0))
        if not ok:
            raise CheckpointError(f"{path} is damaged or was edited: the trainer position's "
                                  f"{key!r} is {type(value).__name__} {str(value)[:40]!r}; "
                                  f"{START_ANEW}")


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
