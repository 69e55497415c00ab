"""Data for stablenet: the paper's test problems, MNIST-style idx files and user files.

Every loader returns a validated :class:`DataSplit` (training + validation tensors, the
number of classes, a name and, for 2-D problems, a plot domain). Use :func:`load_dataset`
to load by name:

* ``"ellipses"``, ``"swissroll"``, ``"peaks"``: the paper's 2-D problems (generated);
* ``"mnist"``, ``"fashion-mnist"``: read from the idx files under the data root, in
  torchvision's layout ``ROOT/MNIST/raw/`` and ``ROOT/FashionMNIST/raw/``;
* a path ending in ``.npz`` or ``.csv``: user data (see :mod:`stablenet.data.npzfile`,
  :mod:`stablenet.data.csvfile`); labels are mapped to classes 0..C-1 and kept as
  ``DataSplit.classes``, and what had to be interpreted is issued as a
  :class:`DataWarning`.

The data root for MNIST is ``data_root`` if given, else the environment variable
``STABLENET_DATA`` if set, else ``./data`` (relative to the working directory).
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

from stablenet.data.csvfile import load_csv
from stablenet.data.idx import parse_idx, read_idx, write_idx
from stablenet.data.labels import encode_labels
from stablenet.data.mnist import load_mnist
from stablenet.data.npzfile import load_npz
from stablenet.data.problems import ellipses, peaks, peaks_grid, peaks_z, swissroll
from stablenet.data.split import DataSplit, DataWarning, subsample, validate
from stablenet.errors import ConfigError

#: names of the built-in datasets accepted by :func:`load_dataset`
DATASETS: tuple[str, ...] = ("ellipses", "swissroll", "peaks", "mnist", "fashion-mnist")
#: environment variable naming the default data root
DATA_ENV = "STABLENET_DATA"

__all__ = [
    "DATASETS",
    "DATA_ENV",
    "DataSplit",
    "DataWarning",
    "default_data_root",
    "ellipses",
    "encode_labels",
    "load_csv",
    "load_dataset",
    "load_mnist",
    "load_npz",
    "parse_idx",
    "peaks",
    "peaks_grid",
    "peaks_z",
    "read_idx",
    "subsample",
    "swissroll",
    "validate",
    "write_idx",
]


def default_data_root() -> Path:
    """``$STABLENET_DATA`` if set (and non-empty), else ``./data``."""
    return Path(os.environ.get(DATA_ENV) or "data")


def load_dataset(
    name: str | os.PathLike,
    data_root: str | os.PathLike | None = None,
    seed: int = 0,
    **kwargs: Any,
) -> DataSplit:
    """Load a dataset by name (see :data:`DATASETS`) or from a ``.npz`` / ``.csv`` path.

    ``seed`` drives the random problems (``ellipses``, ``peaks``) and the split of a CSV
    table or of an ``.npz`` holding one set ``x, y``; it
    is ignored by the deterministic ones. ``kwargs`` go to the loader, e.g. ``n_train``
    for the generators, ``limit_train`` for MNIST, ``label`` for CSV files.
    """
    text = os.fspath(name) if isinstance(name, (str, os.PathLike)) else None
    if not isinstance(text, str):
        raise ConfigError(f"dataset name must be a string or path, got {name!r}")
    suffix = Path(text).suffix.lower()
    key = text.strip().lower().replace("_", "-")
    fixed: dict[str, Any] = {}
    if suffix == ".npz":
        loader, fixed = load_npz, {"path": text, "seed": seed}
    elif suffix == ".csv":
        loader, fixed = load_csv, {"path": text, "seed": seed}
    elif key in ("ellipses", "peaks"):
        loader, fixed = (ellipses if key == "ellipses" else peaks), {"seed": seed}
    elif key == "swissroll":
        loader = swissroll
    elif key in ("mnist", "fashion-mnist"):
        root = default_data_root() if data_root is None else Path(data_root)
        loader, fixed = load_mnist, {"root": root, "name": key}
    else:
        raise ConfigError(
            f"unknown dataset {text!r}; choose one of {', '.join(DATASETS)}, "
            "or give a path to a .npz or .csv file"
        )
    allowed = [p for p in inspect.signature(loader).parameters if p not in fixed]
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise ConfigError(
            f"dataset {text!r} does not take option(s) {', '.join(unknown)}; "
            f"it accepts: {', '.join(allowed) or 'no options'}"
        )
    return loader(**fixed, **kwargs)
