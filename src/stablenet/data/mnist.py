"""MNIST and Fashion-MNIST from the idx files, in torchvision's folder layout.

Expected files (``.gz`` or already decompressed)::

    ROOT/MNIST/raw/train-images-idx3-ubyte.gz         ROOT/FashionMNIST/raw/...
    ROOT/MNIST/raw/train-labels-idx1-ubyte.gz         (same four names)
    ROOT/MNIST/raw/t10k-images-idx3-ubyte.gz
    ROOT/MNIST/raw/t10k-labels-idx1-ubyte.gz

The validation set is the official test set (10000 images).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from stablenet.data.idx import read_idx
from stablenet.data.split import UINT8_SCALING, DataSplit, validate
from stablenet.errors import ConfigError, DataError

#: dataset name -> (folder under ROOT, where to get the files)
MNIST_SOURCES: dict[str, tuple[str, str]] = {
    "mnist": (
        "MNIST",
        "http://yann.lecun.com/exdb/mnist/ (mirror: "
        "https://ossci-datasets.s3.amazonaws.com/mnist/), or run "
        "torchvision.datasets.MNIST(ROOT, download=True)",
    ),
    "fashion-mnist": (
        "FashionMNIST",
        "https://github.com/zalandoresearch/fashion-mnist (files under data/fashion/), or run "
        "torchvision.datasets.FashionMNIST(ROOT, download=True)",
    ),
}
IMAGE_SIZE = 28


def _find(raw_dir: Path, stem: str, name: str) -> Path:
    for candidate in (raw_dir / f"{stem}.gz", raw_dir / stem):
        if candidate.is_file():
            return candidate
    folder, source = MNIST_SOURCES[name]
    raise DataError(
        f"{raw_dir / (stem + '.gz')}: {name} file not found (nor the uncompressed {stem}). "
        f"Download the four idx files from {source} and put them in {raw_dir}/ "
        f"(layout ROOT/{folder}/raw/; choose ROOT with data_root=... or STABLENET_DATA)."
    )


def _check_limit(limit: object, name: str) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ConfigError(f"{name} must be a positive integer or None, got {limit!r}")
    return limit


def _label_check(path: Path, name: str):
    def check(shape: tuple[int, ...], dtype: np.dtype) -> None:
        if dtype != np.uint8 or len(shape) != 1:
            raise DataError(
                f"{path}: expected a 1-D uint8 label vector, got {dtype} {shape}; the file is "
                f"not a {name} label file"
            )
    return check


def _image_check(path: Path, labels_path: Path, n_labels: int, name: str):
    def check(shape: tuple[int, ...], dtype: np.dtype) -> None:
        if dtype != np.uint8 or len(shape) != 3 or shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
            raise DataError(
                f"{path}: expected uint8 images of shape [N, 28, 28], got {dtype} {shape}; "
                f"the file is not a {name} image file"
            )
        if shape[0] != n_labels:
            raise DataError(
                f"{path} has {shape[0]} images but {labels_path} has {n_labels} labels; the "
                "files do not belong together, download them again"
            )
    return check


def _load_part(raw_dir: Path, prefix: str, name: str, limit: int | None):
    images_path = _find(raw_dir, f"{prefix}-images-idx3-ubyte", name)
    labels_path = _find(raw_dir, f"{prefix}-labels-idx1-ubyte", name)
    # the labels first: their count bounds what the image file may declare (and stream)
    labels = read_idx(labels_path, _label_check(labels_path, name))
    images = read_idx(images_path, _image_check(images_path, labels_path, len(labels), name))
    if labels.size and labels.max() > 9:
        raise DataError(f"{labels_path}: label {int(labels.max())} outside 0..9; file corrupt")
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    return x, torch.from_numpy(labels.astype(np.int64))


def load_mnist(
    root: str | os.PathLike,
    name: str = "mnist",
    limit_train: int | None = None,
    limit_val: int | None = None,
) -> DataSplit:
    """Load MNIST or Fashion-MNIST from ``root`` (torchvision layout, see module docstring).

    Returns x float32 in ``[0, 1]`` of shape ``[N, 1, 28, 28]``, 10 classes; validation =
    the official test set. ``limit_train`` / ``limit_val`` keep only the first k examples.
    """
    if name not in MNIST_SOURCES:
        raise ConfigError(f"unknown image dataset {name!r}; choose one of {list(MNIST_SOURCES)}")
    limit_train = _check_limit(limit_train, "limit_train")
    limit_val = _check_limit(limit_val, "limit_val")
    raw_dir = Path(root) / MNIST_SOURCES[name][0] / "raw"
    x_tr, y_tr = _load_part(raw_dir, "train", name, limit_train)
    x_va, y_va = _load_part(raw_dir, "t10k", name, limit_val)
    return validate(DataSplit(x_tr, y_tr, x_va, y_va, num_classes=10, name=name,
                              input_scaling=UINT8_SCALING))
