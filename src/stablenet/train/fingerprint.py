"""A fingerprint of a run's data, kept in its checkpoint, so ``--resume`` notices new data.

The fingerprint of a split is the BLAKE2b digest of the bytes, dtypes and shapes of
``x_train, y_train, x_val, y_val`` as loaded for the run (after ``--limit-train`` /
``--limit-val``, before the run's own dtype and device), with the sizes for the message.
A data file replaced after an interruption, even by one of the same shapes, gives another
digest, and :func:`check_same_data` refuses to resume on it unless told to
(``--allow-data-change``). The paper's problems are generated from the seed, which the
checkpoint's config already fixes, and their float values may differ in the last bits
from one CPU to another (vectorised sin / cos): they are not fingerprinted.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from typing import Any

import torch

from ..data import DataSplit
from ..errors import CheckpointError
from .defaults import PAPER_PROBLEMS

OVERRIDE = "--allow-data-change"


def data_fingerprint(dataset: str, split: DataSplit) -> dict[str, Any]:
    """``{"digest", "n_train", "n_val", "input_shape"}`` of ``split`` (``digest`` None for
    the generated paper problems)."""
    info: dict[str, Any] = {"n_train": split.n_train, "n_val": split.n_val,
                            "input_shape": list(split.input_shape), "digest": None}
    if dataset in PAPER_PROBLEMS:
        return info
    h = hashlib.blake2b(digest_size=16)
    for t in (split.x_train, split.y_train, split.x_val, split.y_val):
        t = t.detach().to("cpu").contiguous()
        h.update(f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().data)
    info["digest"] = h.hexdigest()
    return info


def check_same_data(saved: dict[str, Any] | None, now: dict[str, Any],
                    path: str | os.PathLike, allow: bool = False) -> None:
    """CheckpointError when the data ``now`` differ from those ``saved`` in the checkpoint
    at ``path`` (a warning instead with ``allow``; a note for checkpoints without one)."""
    if saved is None:
        if now.get("digest") is not None:
            warnings.warn(f"{path} holds no fingerprint of its training data (written by an "
                          "older stablenet): the data cannot be checked to be the same",
                          RuntimeWarning, stacklevel=3)
        return
    differ = [f"{key} {saved.get(key)} then, {now.get(key)} now"
              for key in ("n_train", "n_val", "input_shape") if saved.get(key) != now.get(key)]
    if not differ and saved.get("digest") != now.get("digest"):
        differ = ["the same sizes but other values"]
    if not differ:
        return
    what = (f"the training data differ from those {path} was trained on ({'; '.join(differ)})"
            "; resuming would continue the run on other data")
    if allow:
        warnings.warn(f"{what} ({OVERRIDE} given)", RuntimeWarning, stacklevel=3)
        return
    raise CheckpointError(f"{what}. Restore the original data, start a new run (--overwrite, "
                          f"or another --out), or resume anyway with {OVERRIDE}")
