"""``.csv`` tables: numeric feature columns and a label column, split by seed.

How the table is read (separator, header row, label column, labels) is decided by
:mod:`stablenet.data.table`; the labels are mapped to classes ``0 .. C-1`` by
:func:`stablenet.data.labels.encode_labels` (text labels and integers with gaps become
class names, kept in ``DataSplit.classes``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from stablenet.data.holdout import VAL_FRACTION, check_holdout_args, holdout, holdout_labels
from stablenet.data.images import float32
from stablenet.data.split import DataSplit, note, validate
from stablenet.data.table import Table, features, index_column, label_column, labels, read_table
from stablenet.errors import DataError


def read_columns(
    path: Path, label: str | None
) -> tuple[Table, np.ndarray, np.ndarray, list[int], int, list[str]]:
    """(table, features [N, F] float64, labels [N] int64 or str, feature columns, label
    column, notes)."""
    table = read_table(path)
    col, notes = label_column(table, label)
    dropped = index_column(table, col)
    if dropped:
        col -= 1
    notes = table.notes + dropped + notes
    if table.n_columns < 2:
        raise DataError(f"{path}: only the label column {table.name(col)!r}; no features")
    cols = [i for i in range(table.n_columns) if i != col]
    if table.header is not None:
        names = [table.header[i] for i in cols]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            notes.append(f"{path}: several feature columns are named {', '.join(map(repr, twice))};"
                         " they are used by position")
    return table, features(table, cols), labels(table, col), cols, col, notes


def load_csv(
    path: str | os.PathLike,
    label: str | None = None,
    val_fraction: float = VAL_FRACTION,
    seed: int = 0,
    name: str | None = None,
    num_classes: int | None = None,
) -> DataSplit:
    """Load a CSV table: numeric feature columns and a label column (numbers or text).

    ``label`` names the label column; by default (or ``"label"``) the one named ``label``
    (any case), ``labels``, ``target`` or ``class``, else the only text column, else the
    last column (with a note). A random
    ``val_fraction`` of the rows (at least one), chosen by ``seed``, becomes the validation
    set; both sets keep the file's row order. Labels are mapped to classes ``0 .. C-1``
    (kept as ``DataSplit.classes``); with ``num_classes`` they must be class ids already.
    """
    check_holdout_args(val_fraction, seed)
    if isinstance(label, str) and label.lower() == "label":
        label = None  # the default search, which starts with a column named label
    path = Path(path)
    table, x, y, cols, col, notes = read_columns(path, label)
    train, val = holdout(len(y), val_fraction, seed, str(path))
    y_tr, y_va, classes, more = holdout_labels(y, (train, val), str(path), seed, val_fraction,
                                               num_classes)
    notes += more
    num_classes = len(classes)
    x_t = float32(x, str(path))
    header = table.header
    split = DataSplit(
        x_t[torch.from_numpy(train)], y_tr, x_t[torch.from_numpy(val)], y_va, num_classes,
        name or path.stem, classes=classes,
        feature_names=None if header is None else tuple(header[i] for i in cols),
        label_name=None if header is None else header[col],
        notes=tuple(notes),
    )
    try:
        validate(split)
    except DataError as e:
        raise DataError(f"{path}: {e}") from None
    for n_ in notes:
        note(n_)
    return split
