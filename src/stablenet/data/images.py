"""The inputs of an array file: image layout and 8-bit scaling, decided for both splits at once.

* Layout: images are ``[N, C, H, W]``. A 4-D array whose last axis has 1, 3 or 4 entries
  and whose second has not (``[N, H, W, 3]``, ``[N, H, W, 1]``) is channels-last and is
  transposed (with a note); uint8 ``[N, H, W]`` is single-channel and gets its channel axis.
* Scaling: uint8 images are divided by 255 into [0, 1] (``input_scaling="uint8/255"``).
  The decision is made once for the file, so both splits end on the same scale: a float
  split next to a uint8 one is kept if it lies in [0, 1], divided by 255 too if it holds
  0..255 (with a note), and refused otherwise.
"""

from __future__ import annotations

import numpy as np
import torch

from stablenet.data.split import UINT8_SCALING
from stablenet.errors import DataError

CHANNELS = (1, 3, 4)


def float32(x: np.ndarray, what: str) -> torch.Tensor:
    """Cast to float32, refusing finite values too large for it (they would become Inf)."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.ascontiguousarray(x, dtype=np.float32)
    if x.dtype.kind == "f" and np.isinf(out).sum() != np.isinf(x).sum():
        raise DataError(
            f"{what}: values beyond the float32 range (|x| > 3.4e38); rescale the features"
        )
    return torch.from_numpy(out)


def _layout(xs: dict[str, np.ndarray], where: str) -> tuple[dict[str, np.ndarray], list[str]]:
    notes: list[str] = []
    first = xs["x_train"]
    if first.ndim == 3 and all(x.dtype == np.uint8 and x.ndim == 3 for x in xs.values()):
        notes.append(f"{where}: uint8 x of shape [N, H, W] read as single-channel images "
                     "[N, 1, H, W]")
        return {k: x[:, None] for k, x in xs.items()}, notes
    if first.ndim == 4 and first.shape[3] in CHANNELS and first.shape[1] not in CHANNELS:
        if all(x.ndim == 4 and x.shape[3] == first.shape[3] for x in xs.values()):
            n, h, w, c = first.shape
            notes.append(f"{where}: images of shape [N, {h}, {w}, {c}] are channels-last; "
                         f"transposed to [N, {c}, {h}, {w}] (store [N, C, H, W] to skip this)")
            return {k: np.ascontiguousarray(x.transpose(0, 3, 1, 2)) for k, x in xs.items()}, notes
    return xs, notes


def _range(x: np.ndarray) -> tuple[float, float]:
    return (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)


def _scaling(xs: dict[str, np.ndarray], where: str) -> tuple[list[str], list[str]]:
    """The splits to divide by 255, and notes; DataError when no common scale exists."""
    images = {k: x for k, x in xs.items() if x.ndim == 4}
    eight = [k for k, x in images.items() if x.dtype == np.uint8]
    if not eight:
        return [], []
    others = [k for k in images if k not in eight]
    notes, scale = [], list(eight)
    for k in others:
        x = images[k]
        lo, hi = _range(x) if x.dtype.kind in "biuf" else (0.0, 0.0)
        if 0 <= lo and hi <= 1:
            notes.append(f"{where}: {', '.join(eight)} is uint8 and {k} is {x.dtype} in [0, 1]; "
                         f"{', '.join(eight)} divided by 255 to match")
        elif 0 <= lo and hi <= 255:
            notes.append(f"{where}: {', '.join(eight)} is uint8 and {k} is {x.dtype} with values "
                         f"in [{lo:g}, {hi:g}]; both divided by 255 into [0, 1]")
            scale.append(k)
        else:
            raise DataError(
                f"{where}: {', '.join(eight)} is uint8 (0..255) but {k} is {x.dtype} with values "
                f"in [{lo:g}, {hi:g}]; store both splits on the same scale (e.g. both uint8, or "
                "both float)"
            )
    return scale, notes


def input_tensors(
    xs: dict[str, np.ndarray], where: str
) -> tuple[dict[str, torch.Tensor], str | None, list[str]]:
    """``{"x_train": ..., "x_val": ...}`` -> float32 tensors, the input scaling and notes."""
    for k, x in xs.items():
        if x.dtype.kind not in "biuf":
            raise DataError(f"{where}: {k} has dtype {x.dtype}; features must be numeric")
    xs, notes = _layout(xs, where)
    scale, more = _scaling(xs, where)
    out = {}
    for k, x in xs.items():
        out[k] = (torch.from_numpy(x.astype(np.float32) / np.float32(255.0)) if k in scale
                  else float32(x, f"{where}: {k}"))
    return out, (UINT8_SCALING if scale else None), notes + more
