"""Labels as a user has them -> class indices ``0 .. C-1``, and back.

A user's labels may be text (``"setosa"``), integers with gaps (``1, 2, 5``), or integers
that do not start at 0 (``5, 6``). :func:`encode_labels` maps the labels of the training
split, sorted, to ``0 .. C-1`` (so C is the number of distinct training labels) and keeps
the original labels as the class names; predictions are reported in them. Refused, with a
:class:`~stablenet.errors.DataError` naming the problem: a validation label never seen in
training (the model could never predict it), a single class, numeric labels that are not
whole numbers, and a mix of numbers and text.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from stablenet.errors import DataError

#: a class name: the label as it appears in the user's file
Label = int | str


def _show(values: Sequence[Label], limit: int = 6) -> str:
    items = [repr(v) if isinstance(v, str) else str(v) for v in values[:limit]]
    return ", ".join(items) + (f", ... ({len(values)} in all)" if len(values) > limit else "")


def _python(values: np.ndarray) -> tuple[Label, ...]:
    return tuple(str(v) if isinstance(v, (str, np.str_)) else int(v) for v in values.tolist())


def _as_labels(y: np.ndarray, what: str) -> np.ndarray:
    """``y`` as int64 (numbers) or str (text); DataError for non-integer numbers."""
    if y.dtype.kind in "US":
        return y.astype(str)
    if y.dtype.kind == "b":
        return y.astype(np.int64)
    if y.dtype.kind == "f":
        finite = np.isfinite(y)
        whole = finite & (y == np.round(np.where(finite, y, 0)))
        if not np.all(whole):
            bad = y[~whole].ravel()[0]
            raise DataError(
                f"{what} holds the non-integer label {bad}; numeric labels must be whole "
                "numbers (class ids such as 0, 1, 2), or text class names"
            )
        if y.size and np.abs(y).max() > 2**62:
            raise DataError(f"{what} holds labels too large to be class ids")
        return y.astype(np.int64)
    if y.dtype.kind in "iu":
        if y.dtype == np.uint64 and y.size and y.max() > 2**62:
            raise DataError(f"{what} holds labels too large to be class ids")
        return y.astype(np.int64)
    raise DataError(
        f"{what} has dtype {y.dtype}; labels must be integers (class ids) or text class names"
    )


def label_vector(y: np.ndarray, what: str) -> tuple[np.ndarray, list[str]]:
    """A 1-D label vector from ``y``: ``[N, 1]`` is flattened, one-hot ``[N, C]`` decoded
    (with a note); anything else that is not 1-D is refused."""
    notes: list[str] = []
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    elif y.ndim == 2 and y.dtype.kind in "biuf" and y.size and np.all((y == 0) | (y == 1)) \
            and np.all(y.sum(axis=1) == 1):
        notes.append(f"{what} is one-hot [N, {y.shape[1]}]; read as the labels 0..{y.shape[1] - 1}")
        y = y.argmax(axis=1)
    if y.ndim != 1:
        raise DataError(
            f"{what} has shape {tuple(y.shape)}; labels must be a 1-D vector with one label per "
            "example (one-hot rows are decoded, other layouts are not)"
        )
    return _as_labels(y, what), notes


def encode_labels(
    y_train: np.ndarray, y_val: np.ndarray, where: str = "data"
) -> tuple[torch.Tensor, torch.Tensor, tuple[Label, ...], list[str]]:
    """Map labels (int64 or str arrays) to class indices by the sorted training labels.

    Returns ``(y_train, y_val, classes, notes)`` with int64 tensors, ``classes[k]`` the
    user's label of class ``k``, and a note when numeric labels were not already
    ``0 .. C-1``. Raises DataError (prefixed by ``where``) as the module docstring says.
    """
    if y_train.dtype.kind != y_val.dtype.kind:
        raise DataError(
            f"{where}: the training labels are {'text' if y_train.dtype.kind == 'U' else 'numbers'}"
            f" but the validation labels are {'text' if y_val.dtype.kind == 'U' else 'numbers'}; "
            "use the same kind of label in both"
        )
    if y_train.size == 0:
        raise DataError(f"{where}: the training set is empty; it needs at least one example.")
    classes = np.unique(y_train)
    if len(classes) < 2:
        raise DataError(
            f"{where}: the training labels contain only class {_show(_python(classes))}; "
            "classification needs at least two classes in the training set."
        )
    unseen = np.setdiff1d(np.unique(y_val), classes)
    if unseen.size:
        counts = [int((y_val == u).sum()) for u in unseen[:3]]
        raise DataError(
            f"{where}: class(es) {_show(_python(unseen))} occur in the validation split "
            f"({', '.join(map(str, counts))} example(s)) but never in the training split, so the "
            "model could never predict them; add training examples of those classes or remove "
            "them from the validation split"
        )
    names = _python(classes)
    notes = []
    if classes.dtype.kind != "U" and names != tuple(range(len(names))):
        pairs = ", ".join(f"{v} -> {k}" for k, v in enumerate(names[:6]))
        more = ", ..." if len(names) > 6 else ""
        notes.append(
            f"{where}: the labels {_show(names)} are not 0..{len(names) - 1}; trained as "
            f"classes 0..{len(names) - 1} ({pairs}{more}); predictions are reported in the "
            "original labels"
        )
    y_tr, y_va = (torch.from_numpy(np.searchsorted(classes, y).astype(np.int64))
                  for y in (y_train, y_val))
    return y_tr, y_va, names, notes


def index_labels(
    y_train: np.ndarray, y_val: np.ndarray, num_classes: int, where: str = "data"
) -> tuple[torch.Tensor, torch.Tensor, tuple[Label, ...]]:
    """Labels that *are* class indices ``0 .. num_classes-1`` (an explicit ``num_classes``)."""
    if y_train.dtype.kind == "U" or y_val.dtype.kind == "U":
        raise DataError(
            f"{where}: num_classes={num_classes} was given, which needs integer class ids "
            "0..C-1, but the labels are text; leave num_classes unset to map them to classes"
        )
    ys = [torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64)) for y in (y_train, y_val)]
    return ys[0], ys[1], tuple(range(num_classes))
