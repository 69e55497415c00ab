"""A random hold-out split of one labelled set into training and validation rows.

What a ``.csv`` table gets, and an ``.npz`` archive that holds one set ``x, y`` instead of
``x_train, y_train, x_val, y_val``: a random ``val_fraction`` of the rows (at least one),
chosen by ``seed``, becomes the validation set; both sets keep the file's row order.
"""

from __future__ import annotations

import numpy as np

from stablenet.data.labels import encode_labels, index_labels
from stablenet.errors import ConfigError, DataError

#: the share of the rows that becomes the validation set
VAL_FRACTION = 0.2


def check_holdout_args(val_fraction: object, seed: object) -> None:
    """ConfigError unless ``val_fraction`` is a number in (0, 1) and ``seed`` an int >= 0."""
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float)):
        raise ConfigError(f"val_fraction must be a number in (0, 1), got {val_fraction!r}")
    if not 0.0 < val_fraction < 1.0:
        raise ConfigError(f"val_fraction must be in (0, 1), got {val_fraction}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")


def holdout(n: int, val_fraction: float, seed: int, where: str) -> tuple[np.ndarray, np.ndarray]:
    """(training rows, validation rows), each sorted: ``round(n val_fraction)`` (at least
    one) rows drawn at random by ``seed`` for validation, the rest for training."""
    check_holdout_args(val_fraction, seed)
    n_val = max(1, round(n * val_fraction))
    if n_val >= n:
        raise DataError(
            f"{where}: {n} row(s) cannot be split into non-empty training and validation "
            f"sets with val_fraction={val_fraction}; add rows or lower val_fraction"
        )
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def holdout_labels(
    y: np.ndarray, rows: tuple[np.ndarray, np.ndarray], where: str, seed: int,
    val_fraction: float, num_classes: int | None = None,
) -> tuple[np.ndarray, np.ndarray, tuple, list[str]]:
    """The classes of the training and validation rows of ``y`` (see
    :func:`stablenet.data.labels.encode_labels`, or :func:`index_labels` with
    ``num_classes``) and the notes; when a class is seen only among the validation rows
    (so the training rows lack one), the DataError says that the rows were drawn at random."""
    train, val = rows
    if num_classes is not None:
        y_tr, y_va, classes = index_labels(y[train], y[val], num_classes, where)
        return y_tr, y_va, classes, []
    try:
        return encode_labels(y[train], y[val], where)
    except DataError as e:
        if len(np.unique(y)) <= len(np.unique(y[train])):
            raise  # not the draw's doing
        raise DataError(
            f"{str(e).rstrip('.')}; the validation rows are drawn at random (seed {seed}, "
            f"val_fraction {val_fraction}), so a class with few rows can land there alone: "
            "add rows of it"
        ) from None
