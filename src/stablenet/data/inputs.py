"""Inputs for a trained model: a file or an array turned into what the model was trained on.

:class:`InputSpec` is what a model knows about its data (``model.config``: the input
shape and ``data_info``). :func:`read_inputs` reads a ``.csv``, an ``.npz`` or an idx
(MNIST-format) file or folder and returns the inputs, with the user's labels when the
file has them; :func:`as_inputs` does the same for an array.

* CSV: with training feature names, the columns are matched by name (any order; extra
  columns are ignored with a note) and the training label column, if present, gives the
  labels; without names, the columns are taken in order (one extra column: the last is
  the label, as in training).
* npz: the first of ``x``, ``x_test``, ``x_val``, ``x_train`` (and the matching ``y``).
* idx: an images file ``[N, H, W]`` (its labels file ``*labels-idx1*`` next to it is
  used when present), or a folder holding ``t10k-images-idx3-ubyte[.gz]`` (also under
  ``MNIST/raw`` or ``FashionMNIST/raw``).
* Layout and scale follow the model: channels-last images are transposed, ``[N, H, W]``
  gets its channel axis, and 8-bit images are divided by 255 when the model was trained
  on them so (floats in 0..255 too, with a note); other mismatches are refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stablenet.data.idx import read_idx
from stablenet.data.images import float32
from stablenet.data.split import UINT8_SCALING
from stablenet.data.table import Table, features, label_column, labels, read_table
from stablenet.errors import DataError

NPZ_INPUTS = ("x", "x_test", "x_val", "x_train")
TEST_IMAGES = "t10k-images-idx3-ubyte"


@dataclass(frozen=True)
class InputSpec:
    """The model's side: input shape, class names and the data_info of its training data."""

    input_shape: tuple[int, ...]
    classes: tuple[Any, ...] | None = None
    feature_names: tuple[str, ...] | None = None
    label_name: str | None = None
    input_scaling: str | None = None

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> InputSpec:
        info = config.get("data_info") or {}
        def tup(v: Any) -> tuple | None:
            return None if v is None else tuple(v)

        return cls(tuple(int(s) for s in config["input_shape"]), tup(info.get("classes")),
                   tup(info.get("feature_names")), info.get("label_name"),
                   info.get("input_scaling"))


@dataclass
class Inputs:
    """``x`` as the model takes it, the user's ``labels`` (or None) and notes."""

    x: torch.Tensor
    labels: list[Any] | None = None
    notes: list[str] = field(default_factory=list)


def _shape_text(shape: tuple[int, ...]) -> str:
    return "[N, " + ", ".join(map(str, shape)) + "]"


def _layout(x: np.ndarray, spec: InputSpec, where: str) -> tuple[np.ndarray, list[str]]:
    want = spec.input_shape
    if tuple(x.shape[1:]) == want:
        return x, []
    if len(want) == 1 and x.ndim == 1 and x.shape[0] == want[0]:
        return x[None], []
    if len(want) == 3 and x.ndim == 3 and want[0] == 1 and tuple(x.shape[1:]) == want[1:]:
        return x[:, None], []
    if len(want) == 3 and x.ndim == 4 and tuple(x.shape[1:]) == (*want[1:], want[0]):
        return (np.ascontiguousarray(x.transpose(0, 3, 1, 2)),
                [f"{where}: channels-last images transposed to {_shape_text(want)}"])
    raise DataError(f"{where}: inputs of shape {list(x.shape)}, but the model takes "
                    f"{_shape_text(want)}; give the data the model was trained on")


def _scale(x: np.ndarray, spec: InputSpec, where: str) -> tuple[torch.Tensor, list[str]]:
    images = len(spec.input_shape) == 3
    if not images or spec.input_scaling != UINT8_SCALING:
        if images and x.dtype == np.uint8:
            raise DataError(f"{where}: uint8 images, but the model was trained on float images "
                            "(not scaled from 8 bits); store them as the training images were")
        return float32(x, where), []
    if x.dtype == np.uint8:
        return torch.from_numpy(x.astype(np.float32) / np.float32(255.0)), []
    lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
    if 0 <= lo and hi <= 1:
        return float32(x, where), []
    if 0 <= lo and hi <= 255:
        return (torch.from_numpy(x.astype(np.float32) / np.float32(255.0)),
                [f"{where}: float images with values in [{lo:g}, {hi:g}] divided by 255, as "
                 "the model's 8-bit training images were"])
    raise DataError(f"{where}: image values in [{lo:g}, {hi:g}], but the model takes images in "
                    "[0, 1] (8-bit images divided by 255); give uint8 images or floats in [0, 1]")


def as_inputs(x: Any, spec: InputSpec, where: str = "inputs") -> tuple[torch.Tensor, list[str]]:
    """An array (numpy or torch) in the model's layout and scale, and notes."""
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{where}: inputs of dtype {arr.dtype}; they must be numbers")
    arr, notes = _layout(arr, spec, where)
    out, more = _scale(arr, spec, where)
    if out.numel() and not bool(torch.isfinite(out).all()):
        raise DataError(f"{where}: the inputs contain NaN or Inf; remove or impute them")
    return out, notes + more


def _csv_columns(table: Table, spec: InputSpec) -> tuple[list[int], int | None, list[str]]:
    """(feature columns in the model's order, label column or None, notes)."""
    n_feat, path = spec.input_shape[0], table.path
    names = spec.feature_names
    if table.header is not None and names is not None and len(set(names)) == len(names):
        lower = [h.lower() for h in table.header]
        cols, missing = [], []
        for name in names:
            if name in table.header:
                cols.append(table.header.index(name))
            elif lower.count(name.lower()) == 1:
                cols.append(lower.index(name.lower()))
            else:
                missing.append(name)
        if missing:
            raise DataError(f"{path}: no column named {', '.join(map(repr, missing))}; the model "
                            f"was trained on the columns {list(names)} (found {table.header})")
        label = None
        if spec.label_name is not None and spec.label_name.lower() in lower:
            label = lower.index(spec.label_name.lower())
        extra = [table.header[i] for i in range(table.n_columns) if i not in cols and i != label]
        notes = [f"{path}: column(s) {', '.join(map(repr, extra))} not used by the model; "
                 "ignored"] if extra else []
        return cols, label, notes
    if table.n_columns == n_feat:
        return list(range(n_feat)), None, []
    if table.n_columns == n_feat + 1 and (table.header is None or names is None):
        label, notes = label_column(table, None)  # named like a label, else the last column
        return [i for i in range(table.n_columns) if i != label], label, notes
    raise DataError(f"{path}: {table.n_columns} columns, but the model takes {n_feat} features"
                    + ("" if names is None else f" named {list(names)}; add a header row"))


def _labels_as_classes(raw: np.ndarray, spec: InputSpec) -> list[Any]:
    if spec.classes is not None and all(isinstance(c, str) for c in spec.classes):
        return [str(v) for v in raw.tolist()]
    return raw.tolist()


def _read_csv(path: Path, spec: InputSpec) -> Inputs:
    if len(spec.input_shape) != 1:
        raise DataError(f"{path}: a table of features, but the model takes images "
                        f"{_shape_text(spec.input_shape)}")
    table = read_table(path)
    cols, label, notes = _csv_columns(table, spec)
    x = features(table, cols)
    y = None if label is None else _labels_as_classes(labels(table, label), spec)
    if table.header is None and spec.feature_names is not None:
        notes.append(f"{path}: no header row; the columns are taken in the training order")
    return Inputs(float32(x, str(path)), y, table.notes + notes)


def _read_npz(path: Path, spec: InputSpec) -> Inputs:
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as e:  # zip, npy-header and pickle errors all mean a bad file
        raise DataError(f"{path}: not a readable .npz archive ({type(e).__name__}: {e})") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        return Inputs(*_array_inputs(data, None, spec, str(path)))
    with data:
        key = next((k for k in NPZ_INPUTS if k in data.files), None)
        if key is None:
            raise DataError(f"{path}: no inputs; expected one of the keys {', '.join(NPZ_INPUTS)} "
                            f"(found: {', '.join(data.files) or 'none'})")
        ykey = "y" + key[1:]
        try:
            x, y = data[key], (data[ykey] if ykey in data.files else None)
        except Exception as e:  # a corrupt member
            raise DataError(f"{path}: corrupt .npz archive ({type(e).__name__}: {e})") from None
    x_t, y_l, notes = _array_inputs(x, y, spec, f"{path}: {key}")
    if key != "x":
        notes.append(f"{path}: no key x; predicting {key}" + (f" (labels {ykey})" if y_l else ""))
    return Inputs(x_t, y_l, notes)


def _array_inputs(x: np.ndarray, y: np.ndarray | None, spec: InputSpec, where: str):
    x_t, notes = as_inputs(x, spec, where)
    if y is None:
        return x_t, None, notes
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != x_t.shape[0]:
        return x_t, None, notes + [f"{where}: labels of shape {list(y.shape)} for {x_t.shape[0]} "
                                   "examples; ignored"]
    y = y.astype(str) if y.dtype.kind in "US" else y
    if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        y = y.astype(np.int64)
    return x_t, _labels_as_classes(y, spec), notes


def _find_images(path: Path) -> Path:
    if path.is_file():
        return path
    for folder in (path, path / "MNIST" / "raw", path / "FashionMNIST" / "raw"):
        for name in (TEST_IMAGES + ".gz", TEST_IMAGES):
            if (folder / name).is_file():
                return folder / name
    raise DataError(f"{path}: no {TEST_IMAGES}[.gz] here (nor under MNIST/raw or "
                    "FashionMNIST/raw); give the idx images file itself")


def _read_idx(path: Path, spec: InputSpec) -> Inputs:
    images = _find_images(path)
    x = read_idx(images)
    labels_path = images.with_name(images.name.replace("images-idx3", "labels-idx1"))
    y = None
    if labels_path != images and labels_path.is_file():
        y = read_idx(labels_path)
    x_t, y_l, notes = _array_inputs(x, y, spec, str(images))
    return Inputs(x_t, y_l, notes)


def read_inputs(path: str | os.PathLike, spec: InputSpec) -> Inputs:
    """Read a ``.csv``, ``.npz``/``.npy``, or idx file or folder for a model of ``spec``."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path, spec)
    if suffix in (".npz", ".npy"):
        return _read_npz(path, spec)
    return _read_idx(path, spec)
