"""``.npz`` archives with a given split: ``x_train, y_train, x_val, y_val``.

``x`` is 2-D ``[N, features]`` or images ``[N, C, H, W]`` (channels-last and uint8
``[N, H, W]`` images are recognised, uint8 images scaled to [0, 1]: see
:mod:`stablenet.data.images`). ``y`` holds one label per example: integers or text,
mapped to classes ``0 .. C-1`` by :func:`stablenet.data.labels.encode_labels` unless
``num_classes`` is given (then the labels must already be class indices). An archive
with ``x_test, y_test`` instead of ``x_val, y_val`` (as Keras writes them) uses those.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from stablenet.data.images import input_tensors
from stablenet.data.labels import encode_labels, index_labels, label_vector
from stablenet.data.split import DataSplit, note, validate
from stablenet.errors import DataError

NPZ_KEYS = ("x_train", "y_train", "x_val", "y_val")
#: other names of the validation arrays, tried when x_val / y_val are absent
VAL_ALIASES = {"x_val": "x_test", "y_val": "y_test"}


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


def load_npz(
    path: str | os.PathLike, name: str | None = None, num_classes: int | None = None
) -> DataSplit:
    """Load a split from an ``.npz`` with keys ``x_train, y_train, x_val, y_val``.

    Labels are mapped to ``0 .. C-1`` (their sorted distinct training values, kept as
    ``DataSplit.classes``); with ``num_classes`` they must be class indices already.
    Notes on what was interpreted are issued as :class:`~stablenet.data.split.DataWarning`.
    """
    path = Path(path)
    arrays, aliases = read_npz(path, NPZ_KEYS)
    notes = []
    if aliases:
        notes.append(f"{path}: no x_val / y_val; {' / '.join(aliases)} used as the validation "
                     "split")
    xs, scaling, more = input_tensors({k: arrays[k] for k in ("x_train", "x_val")}, str(path))
    notes += more
    y_tr, n1 = label_vector(arrays["y_train"], f"{path}: y_train")
    y_va, n2 = label_vector(arrays["y_val"], f"{path}: y_val")
    notes += n1 + n2
    for part, x, y in (("train", xs["x_train"], y_tr), ("val", xs["x_val"], y_va)):
        if x.shape[0] != y.shape[0]:
            raise DataError(
                f"{path}: x_{part} has {x.shape[0]} examples but y_{part} has {y.shape[0]} "
                "labels; they must have the same length."
            )
    if num_classes is None:
        if xs["x_val"].shape[0] == 0:
            raise DataError(f"{path}: the validation set is empty; it needs at least one example.")
        t_tr, t_va, classes, more = encode_labels(y_tr, y_va, str(path))
        notes += more
        num_classes = len(classes)
    else:
        t_tr, t_va, classes = index_labels(y_tr, y_va, num_classes, str(path))
    split = DataSplit(xs["x_train"], t_tr, xs["x_val"], t_va, num_classes, name or path.stem,
                      classes=classes, input_scaling=scaling, notes=tuple(notes))
    try:
        validate(split)
    except DataError as e:
        raise DataError(f"{path}: {e}") from None
    for n in notes:
        note(n)
    return split
