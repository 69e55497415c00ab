"""``.npz`` archives: a given split ``x_train, y_train, x_val, y_val``, or one set ``x, y``.

``x`` is 2-D ``[N, features]`` or images ``[N, C, H, W]`` (channels-last and uint8
``[N, H, W]`` images are recognised, uint8 images scaled to [0, 1]: see
:mod:`stablenet.data.images`). ``y`` holds one label per example: integers or text,
mapped to classes ``0 .. C-1`` by :func:`stablenet.data.labels.encode_labels` unless
``num_classes`` is given (then the labels must already be class indices). An archive
with ``x_test, y_test`` instead of ``x_val, y_val`` (as Keras writes them) uses those. An
archive with none of these keys but ``x, y`` (``np.savez(path, x=X, y=Y)``; also ``X``,
``Y``) is split like a CSV table (:mod:`stablenet.data.holdout`: a random ``val_fraction``
of the rows, chosen by ``seed``, for validation).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from stablenet.data.holdout import VAL_FRACTION, check_holdout_args, holdout, holdout_labels
from stablenet.data.images import input_tensors
from stablenet.data.labels import encode_labels, index_labels, label_vector
from stablenet.data.split import DataSplit, note, validate
from stablenet.errors import DataError

NPZ_KEYS = ("x_train", "y_train", "x_val", "y_val")
#: other names of the validation arrays, tried when x_val / y_val are absent
VAL_ALIASES = {"x_val": "x_test", "y_val": "y_test"}
#: the names of one labelled set, split at random when no split is given
WHOLE_KEYS = (("x", "y"), ("X", "y"), ("X", "Y"))


def whole_set_keys(files: list[str]) -> tuple[str, str] | None:
    """The keys (x, y) of an archive that holds one labelled set and no split, else None."""
    split = set(NPZ_KEYS) | set(VAL_ALIASES.values())
    if split & set(files):
        return None
    return next((keys for keys in WHOLE_KEYS if set(keys) <= set(files)), None)


def read_npz(path: Path, keys: tuple[str, ...]) -> tuple[dict[str, np.ndarray], list[str]]:
    """The arrays ``keys`` of the archive (or, for x_val / y_val, their aliases), and the
    names of the aliases used."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as e:  # zip, npy-header and pickle errors all mean a bad file
        raise DataError(
            f"{path}: not a readable .npz archive ({type(e).__name__}: {e}); "
            "write it with numpy.savez"
        ) from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise DataError(f"{path}: holds a single array (.npy), not an archive; use np.savez")
    with data:
        whole = whole_set_keys(data.files) if keys == NPZ_KEYS else None
        if whole is not None:
            keys = whole
        names = {k: k if k in data.files else VAL_ALIASES.get(k, k) for k in keys}
        missing = [k for k, n in names.items() if n not in data.files]
        if missing:
            raise DataError(
                f"{path}: missing key(s) {', '.join(missing)} (found: "
                f"{', '.join(data.files) or 'none'}); save with "
                "np.savez(path, x_train=..., y_train=..., x_val=..., y_val=...)"
            )
        try:
            arrays = {k: data[n] for k, n in names.items()}
        except Exception as e:  # CRC, zlib, npy-header, memory errors: a corrupt member
            raise DataError(
                f"{path}: corrupt .npz archive ({type(e).__name__}: {e}); write it again "
                "with numpy.savez"
            ) from None
    return arrays, [n for k, n in names.items() if n != k]


def split_whole_set(arrays: dict[str, np.ndarray], path: Path, val_fraction: float,
                    seed: int) -> tuple[dict[str, np.ndarray], tuple[np.ndarray, np.ndarray], str]:
    """``x_train, x_val`` and the labels ``y`` of one set (x, y), the (training,
    validation) rows (:func:`.holdout.holdout`) and a note saying so."""
    (kx, x), (ky, y) = arrays.items()
    if x.ndim == 0 or y.ndim == 0 or x.shape[0] != y.shape[0]:
        raise DataError(f"{path}: {kx} has shape {x.shape} and {ky} {y.shape}; they need one "
                        "entry per example (the same length along the first axis)")
    _check_rows(x, kx, path)
    rows = holdout(x.shape[0], val_fraction, seed, str(path))
    note_ = (f"{path}: one set ({kx}, {ky}) and no x_train / x_val: {len(rows[1])} of its "
             f"{x.shape[0]} examples, drawn at random (seed {seed}, val_fraction "
             f"{val_fraction}), are the validation set")
    return {"x_train": x[rows[0]], "x_val": x[rows[1]], "y": y}, rows, note_


def _check_rows(x: np.ndarray, key: str, path: Path) -> None:
    """What the split would hide: one example per row, finite values (row numbers of x)."""
    if x.ndim < 2:
        raise DataError(f"{path}: {key} has shape {x.shape}; it needs one example per row, "
                        f"[N, features] or images (a single feature: {key}[:, None])")
    if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        bad = ~np.isfinite(x.reshape(x.shape[0], -1))
        kind = "NaN" if np.isnan(x).any() else "Inf"
        raise DataError(f"{path}: {key} contains {kind} (first in row {int(bad.any(1).argmax())}, "
                        f"{int(bad.sum())} non-finite values in all). Remove or impute those "
                        "examples.")


def _labels(arrays: dict[str, np.ndarray], path: Path, num_classes: int | None,
            rows: tuple[np.ndarray, np.ndarray] | None, seed: int, val_fraction: float):
    """(training classes, validation classes, class names, notes)."""
    if rows is not None:  # one set, split here
        y, notes = label_vector(arrays["y"], f"{path}: y")
        *classes, more = holdout_labels(y, rows, str(path), seed, val_fraction, num_classes)
        return (*classes, notes + more)
    y_tr, n1 = label_vector(arrays["y_train"], f"{path}: y_train")
    y_va, n2 = label_vector(arrays["y_val"], f"{path}: y_val")
    if num_classes is not None:
        return (*index_labels(y_tr, y_va, num_classes, str(path)), n1 + n2)
    if y_va.shape[0] == 0:
        raise DataError(f"{path}: the validation set is empty; it needs at least one example.")
    *classes, more = encode_labels(y_tr, y_va, str(path))
    return (*classes, n1 + n2 + more)


def load_npz(
    path: str | os.PathLike, name: str | None = None, num_classes: int | None = None,
    val_fraction: float = VAL_FRACTION, seed: int = 0,
) -> DataSplit:
    """Load an ``.npz`` with keys ``x_train, y_train, x_val, y_val``, or one set ``x, y``
    split at random (``val_fraction`` of it for validation, chosen by ``seed``).

    Labels are mapped to ``0 .. C-1`` (their sorted distinct training values, kept as
    ``DataSplit.classes``); with ``num_classes`` they must be class indices already.
    Notes on what was interpreted are issued as :class:`~stablenet.data.split.DataWarning`.
    """
    check_holdout_args(val_fraction, seed)
    path = Path(path)
    arrays, aliases = read_npz(path, NPZ_KEYS)
    notes, rows = [], None
    if aliases:
        notes.append(f"{path}: no x_val / y_val; {' / '.join(aliases)} used as the validation "
                     "split")
    if "x_train" not in arrays:
        arrays, rows, more = split_whole_set(arrays, path, val_fraction, seed)
        notes.append(more)
    xs, scaling, more = input_tensors({k: arrays[k] for k in ("x_train", "x_val")}, str(path))
    notes += more
    t_tr, t_va, classes, more = _labels(arrays, path, num_classes, rows, seed, val_fraction)
    notes += more
    for part, x, y in (("train", xs["x_train"], t_tr), ("val", xs["x_val"], t_va)):
        if x.shape[0] != y.shape[0]:
            raise DataError(
                f"{path}: x_{part} has {x.shape[0]} examples but y_{part} has {y.shape[0]} "
                "labels; they must have the same length."
            )
    split = DataSplit(xs["x_train"], t_tr, xs["x_val"], t_va, len(classes), name or path.stem,
                      classes=classes, input_scaling=scaling, notes=tuple(notes))
    try:
        validate(split)
    except DataError as e:
        raise DataError(f"{path}: {e}") from None
    for n in notes:
        note(n)
    return split
