"""The container every loader returns: a training and a validation set, checked.

A :class:`DataSplit` holds ``x`` as a floating tensor, either 2-D ``[N, features]`` (one row
per example; the paper's column vectors, transposed) or 4-D ``[N, C, H, W]`` (images), and
``y`` as an int64 tensor of class indices ``0 .. num_classes - 1``. :func:`validate` checks
all of that and raises :class:`~stablenet.errors.DataError` saying what is wrong.

A loader that had to interpret an ambiguous input (a table without a header, labels that
are not ``0 .. C-1``, channels-last images, ...) says so in a :class:`DataWarning` (the
command line prints it as one line) and keeps the text in ``DataSplit.notes``.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass
from typing import Any

import torch

from stablenet.errors import ConfigError, DataError

Domain = tuple[float, float, float, float]
#: the input scaling of 8-bit images: uint8 values divided by 255, into [0, 1]
UINT8_SCALING = "uint8/255"


class DataWarning(UserWarning):
    """A loader interpreted an ambiguous input; the message says how and how to change it."""


def note(message: str) -> str:
    """Issue ``message`` as a :class:`DataWarning` and return it (for ``DataSplit.notes``)."""
    warnings.warn(message, DataWarning, stacklevel=3)
    return message


@dataclass(frozen=True, eq=False)
class DataSplit:
    """Training and validation data of one classification problem.

    Attributes:
        x_train, x_val: floating tensors ``[N, F]`` or ``[N, C, H, W]``.
        y_train, y_val: int64 tensors ``[N]`` of class indices.
        num_classes: number of classes ``C`` (labels lie in ``0 .. C-1``).
        name: a short name for messages and reports.
        domain: for 2-D problems, the plot box ``(xmin, xmax, ymin, ymax)``; else ``None``.
        classes: the user's label of each class index (``classes[k]`` for class k), or
            ``None`` when the labels are the class indices themselves (built-in datasets).
        feature_names: the names of the feature columns of a table with a header row.
        label_name: the name of the table's label column (``None`` without a header).
        input_scaling: how the file's values were scaled (``"uint8/255"``: 8-bit images
            into [0, 1]); ``None``: taken as stored.
        notes: what the loader had to interpret (each also issued as a DataWarning).
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    num_classes: int
    name: str
    domain: Domain | None = None
    classes: tuple[int | str, ...] | None = None
    feature_names: tuple[str, ...] | None = None
    label_name: str | None = None
    input_scaling: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def n_features(self) -> int:
        """``x.shape[1]``: the number of features (2-D x) or of channels (image x)."""
        return int(self.x_train.shape[1])

    @property
    def is_image(self) -> bool:
        """True when x is 4-D ``[N, C, H, W]``."""
        return self.x_train.dim() == 4

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one example: ``(F,)`` or ``(C, H, W)``."""
        return tuple(int(s) for s in self.x_train.shape[1:])

    @property
    def n_train(self) -> int:
        """Number of training examples."""
        return int(self.x_train.shape[0])

    @property
    def n_val(self) -> int:
        """Number of validation examples."""
        return int(self.x_val.shape[0])

    def data_info(self) -> dict[str, Any]:
        """What a model trained on this split must know about its data (JSON-ready):
        ``classes``, ``feature_names``, ``label_name``, ``input_scaling``."""
        return {
            "classes": None if self.classes is None else list(self.classes),
            "feature_names": None if self.feature_names is None else list(self.feature_names),
            "label_name": self.label_name,
            "input_scaling": self.input_scaling,
        }

    def to(
        self, dtype: torch.dtype | None = None, device: torch.device | str | None = None
    ) -> DataSplit:
        """Return a new split with x cast to ``dtype`` (a floating type) and all on ``device``.

        Labels stay int64; ``None`` keeps the current dtype or device.
        """
        if dtype is not None and not dtype.is_floating_point:
            raise ConfigError(
                f"DataSplit.to: dtype must be a floating type such as torch.float64, got {dtype}"
            )
        return dataclasses.replace(
            self,
            x_train=self.x_train.to(dtype=dtype, device=device),
            x_val=self.x_val.to(dtype=dtype, device=device),
            y_train=self.y_train.to(device=device),
            y_val=self.y_val.to(device=device),
        )

    def __repr__(self) -> str:
        return (
            f"DataSplit(name={self.name!r}, n_train={self.n_train}, n_val={self.n_val}, "
            f"input_shape={self.input_shape}, num_classes={self.num_classes}, "
            f"dtype={self.x_train.dtype}, domain={self.domain})"
        )


def _where(split: DataSplit) -> str:
    return f"dataset {split.name!r}"


def _check_x(x: object, part: str, where: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise DataError(f"{where}: x_{part} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() not in (2, 4):
        raise DataError(
            f"{where}: x_{part} has shape {tuple(x.shape)}; expected 2-D [N, features] or 4-D "
            "[N, channels, height, width]. Reshape the inputs to one of these layouts "
            "(single-channel images [N, H, W]: x[:, None])."
        )
    if not x.dtype.is_floating_point:
        raise DataError(
            f"{where}: x_{part} has dtype {x.dtype}; inputs must be floating point "
            "(convert with x.float())."
        )
    if x.numel() and not bool(torch.isfinite(x).all()):
        bad = ~torch.isfinite(x)
        kind = "NaN" if bool(torch.isnan(x).any()) else "Inf"
        row = int(bad.reshape(x.shape[0], -1).any(dim=1).nonzero()[0, 0])
        raise DataError(
            f"{where}: x_{part} contains {kind} (first in example {row}, "
            f"{int(bad.sum())} non-finite values in all). Remove or impute those examples."
        )
    return x


def _check_y(y: object, n: int, part: str, where: str, num_classes: int) -> torch.Tensor:
    if not isinstance(y, torch.Tensor):
        raise DataError(f"{where}: y_{part} must be a torch.Tensor, got {type(y).__name__}")
    if y.dim() != 1:
        raise DataError(
            f"{where}: y_{part} has shape {tuple(y.shape)}; labels must be a 1-D vector of "
            "class indices (not one-hot)."
        )
    if y.dtype.is_floating_point or y.dtype.is_complex or y.dtype == torch.bool:
        raise DataError(
            f"{where}: y_{part} has dtype {y.dtype}; labels must be integers 0..C-1 "
            "(convert with y.long())."
        )
    if y.shape[0] != n:
        raise DataError(
            f"{where}: x_{part} has {n} examples but y_{part} has {y.shape[0]} labels; "
            "they must have the same length."
        )
    if y.numel():
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= num_classes:
            raise DataError(
                f"{where}: y_{part} has labels in {lo}..{hi}, outside 0..{num_classes - 1} "
                f"(num_classes={num_classes}). Relabel the classes as 0..C-1."
            )
    return y


def validate(split: DataSplit) -> DataSplit:
    """Check a split for consistency; return it unchanged or raise :class:`DataError`.

    Checked: x is a finite floating tensor, 2-D or 4-D, with the same per-example shape
    in training and validation; y is a 1-D integer tensor as long as x with labels in
    ``0 .. num_classes-1``; both sets are non-empty; the training set has at least two
    classes; ``domain`` (if given) is an ordered box.
    """
    where = _where(split)
    c = split.num_classes
    if isinstance(c, bool) or not isinstance(c, int) or c < 2:
        raise DataError(f"{where}: num_classes must be an integer >= 2, got {c!r}")
    x_tr = _check_x(split.x_train, "train", where)
    x_va = _check_x(split.x_val, "val", where)
    if x_tr.shape[1:] != x_va.shape[1:]:
        raise DataError(
            f"{where}: training examples have shape {tuple(x_tr.shape[1:])} but validation "
            f"examples have shape {tuple(x_va.shape[1:])}; they must match."
        )
    for part, x in (("training", x_tr), ("validation", x_va)):
        if x.shape[0] == 0:
            raise DataError(f"{where}: the {part} set is empty; it needs at least one example.")
    y_tr = _check_y(split.y_train, x_tr.shape[0], "train", where, c)
    _check_y(split.y_val, x_va.shape[0], "val", where, c)
    if torch.unique(y_tr).numel() < 2:
        k = int(y_tr[0])
        name = k if split.classes is None or k >= len(split.classes) else split.classes[k]
        raise DataError(
            f"{where}: the training labels contain only class {name!r}; "
            "classification needs at least two classes in the training set."
        )
    if split.classes is not None and len(split.classes) != c:
        raise DataError(f"{where}: {len(split.classes)} class names for {c} classes")
    names = split.feature_names
    if names is not None and (x_tr.dim() != 2 or len(names) != x_tr.shape[1]):
        raise DataError(f"{where}: {len(names)} feature names for inputs of shape "
                        f"{tuple(x_tr.shape[1:])}")
    if split.domain is not None:
        d = split.domain
        ok = len(d) == 4 and all(isinstance(v, (int, float)) and math.isfinite(v) for v in d)
        if not ok or not (d[0] < d[1] and d[2] < d[3]):
            raise DataError(f"{where}: domain must be (xmin, xmax, ymin, ymax) ordered, got {d}")
    return split


def _subset(x: torch.Tensor, y: torch.Tensor, limit: int | None, gen: torch.Generator):
    if limit is None or limit >= x.shape[0]:
        return x, y
    idx = torch.randperm(x.shape[0], generator=gen)[:limit].sort().values
    return x[idx], y[idx]


def subsample(
    split: DataSplit, limit_train: int | None = None, limit_val: int | None = None, seed: int = 0
) -> DataSplit:
    """A seeded random subset of ``limit_train`` training and ``limit_val`` validation
    examples (``None``: all; file order kept), checked again by :func:`validate`.

    The checks run on the subset: a training subset with a single class is refused, and
    classes of the data that the training subset lacks are named in a DataWarning.
    """
    if limit_train is None and limit_val is None:
        return split
    gen = torch.Generator().manual_seed(seed)
    x_tr, y_tr = _subset(split.x_train, split.y_train, limit_train, gen)
    x_va, y_va = _subset(split.x_val, split.y_val, limit_val, gen)
    kept = f"the random subset of {x_tr.shape[0]} training examples (limit_train={limit_train})"
    sub = dataclasses.replace(split, x_train=x_tr, y_train=y_tr, x_val=x_va, y_val=y_va)
    try:
        validate(sub)
    except DataError as e:
        raise DataError(f"{e} This is {kept}; keep more examples.") from None
    missing = sorted(set(range(split.num_classes)) - set(torch.unique(y_tr).tolist()))
    if missing and limit_train is not None and limit_train < split.n_train:
        names = [split.classes[k] if split.classes else k for k in missing]
        shown = ", ".join(map(repr, names[:8])) + (", ..." if len(names) > 8 else "")
        msg = note(f"{kept} has no example of class(es) {shown}; the model cannot learn them "
                   "(keep more training examples)")
        sub = dataclasses.replace(sub, notes=(*sub.notes, msg))
    return sub
