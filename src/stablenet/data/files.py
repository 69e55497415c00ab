"""User data files: ``.npz`` archives with a given split, and ``.csv`` tables split by seed.

Labels are taken as given (no remapping): they must be integers ``0 .. C-1``, and
``num_classes`` is ``max label + 1`` (at least 2) unless passed explicitly.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import torch

from stablenet.data.split import DataSplit, validate
from stablenet.errors import ConfigError, DataError

NPZ_KEYS = ("x_train", "y_train", "x_val", "y_val")


def _x_tensor(x: np.ndarray, key: str, path: Path) -> torch.Tensor:
    if x.dtype.kind not in "biuf":
        raise DataError(f"{path}: {key} has dtype {x.dtype}; features must be numeric")
    if x.dtype == np.uint8 and x.ndim == 4:
        return torch.from_numpy(x.astype(np.float32) / 255.0)  # 8-bit images -> [0, 1]
    return _float32(x, f"{path}: {key}")


def _float32(x: np.ndarray, what: str) -> torch.Tensor:
    """Cast to float32, refusing finite values too large for it (they would become Inf)."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.ascontiguousarray(x, dtype=np.float32)
    if x.dtype.kind == "f" and np.isinf(out).sum() != np.isinf(x).sum():
        raise DataError(
            f"{what}: values beyond the float32 range (|x| > 3.4e38); rescale the features"
        )
    return torch.from_numpy(out)


def _y_tensor(y: np.ndarray, key: str, path: Path) -> torch.Tensor:
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            bad = y[~(np.isfinite(y) & (y == np.round(y)))].ravel()[0]
            raise DataError(
                f"{path}: {key} holds the non-integer label {bad}; labels must be integer "
                "class indices 0..C-1"
            )
        if y.size and np.abs(y).max() > 2**62:
            raise DataError(f"{path}: {key} holds labels too large to be class indices")
    elif y.dtype.kind not in "iu":
        raise DataError(
            f"{path}: {key} has dtype {y.dtype}; labels must be integer class indices 0..C-1"
        )
    return torch.from_numpy(np.ascontiguousarray(y).astype(np.int64))


def infer_num_classes(y_train: torch.Tensor, y_val: torch.Tensor, source: object) -> int:
    """``max label + 1`` (at least 2); refuse more classes than there are examples."""
    labels = [y for y in (y_train, y_val) if y.numel()]
    if not labels:
        return 2
    top = max(int(y.max()) for y in labels)
    n = sum(int(y.numel()) for y in labels)
    if top + 1 > max(n, 2):
        raise DataError(
            f"{source}: the largest label is {top} but there are only {n} examples; labels must "
            "be class indices 0..C-1 (relabel with np.unique(y, return_inverse=True))"
        )
    return max(top + 1, 2)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
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
        missing = [k for k in NPZ_KEYS if k not in data.files]
        if missing:
            raise DataError(
                f"{path}: missing key(s) {', '.join(missing)} (found: "
                f"{', '.join(data.files) or 'none'}); save with "
                "np.savez(path, x_train=..., y_train=..., x_val=..., y_val=...)"
            )
        try:
            return {k: data[k] for k in NPZ_KEYS}
        except Exception as e:  # CRC, zlib, npy-header, memory errors: a corrupt member
            raise DataError(
                f"{path}: corrupt .npz archive ({type(e).__name__}: {e}); write it again "
                "with numpy.savez"
            ) from None


def load_npz(
    path: str | os.PathLike, name: str | None = None, num_classes: int | None = None
) -> DataSplit:
    """Load a split from an ``.npz`` with keys ``x_train, y_train, x_val, y_val``.

    x is 2-D ``[N, features]`` or 4-D ``[N, C, H, W]`` images (uint8 images are scaled to
    ``[0, 1]``, other x is cast to float32); y holds integer labels ``0 .. C-1``.
    """
    path = Path(path)
    arrays = _read_npz(path)
    x_tr, x_va = (_x_tensor(arrays[k], k, path) for k in ("x_train", "x_val"))
    y_tr, y_va = (_y_tensor(arrays[k], k, path) for k in ("y_train", "y_val"))
    if num_classes is None:
        num_classes = infer_num_classes(y_tr, y_va, path)
    split = DataSplit(x_tr, y_tr, x_va, y_va, num_classes, name or path.stem)
    try:
        return validate(split)
    except DataError as e:
        raise DataError(f"{path}: {e}") from None


def _parse_float(text: str, path: Path, line: int, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise DataError(
            f"{path}, line {line}, column {column!r}: {text.strip()[:40]!r} is not a number"
        ) from None
    if not np.isfinite(value):
        raise DataError(f"{path}, line {line}, column {column!r}: non-finite value {text!r}")
    return value


def _parse_label(text: str, path: Path, line: int, column: str) -> int:
    try:
        value: float = int(text)
    except ValueError:
        value = _parse_float(text, path, line, column)
    if value != round(value) or abs(value) > 2**62:
        raise DataError(
            f"{path}, line {line}, column {column!r}: label {text.strip()[:40]!r} is not a "
            "class index; labels must be integers 0..C-1"
        )
    return int(value)


def _read_csv(path: Path, label: str) -> tuple[np.ndarray, np.ndarray]:
    """Parse the table into features ``[N, F]`` (float64) and labels ``[N]`` (int64)."""
    features: list[list[float]] = []
    labels: list[int] = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = [h.strip() for h in next(reader, [])]
            if not header or header == [""]:
                raise DataError(f"{path}: empty file; expected a header row, then data rows")
            if label in header:
                col = header.index(label)
            elif label == "label":
                col = len(header) - 1
            else:
                raise DataError(
                    f"{path}: no column named {label!r}; columns are {header}. "
                    "Pass label=<name of the label column>"
                )
            if len(header) < 2:
                raise DataError(f"{path}: only the label column {header[col]!r}; no features")
            feats = [i for i in range(len(header)) if i != col]
            for row in reader:
                line = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue  # blank line
                if len(row) != len(header):
                    raise DataError(
                        f"{path}, line {line}: {len(row)} fields, but the header has "
                        f"{len(header)}; every row needs one value per column"
                    )
                labels.append(_parse_label(row[col], path, line, header[col]))
                features.append([_parse_float(row[i], path, line, header[i]) for i in feats])
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e.reason}); save the table as UTF-8") from None
    except csv.Error as e:
        raise DataError(f"{path}: malformed CSV ({e})") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read file ({e.strerror or e})") from None
    if not labels:
        raise DataError(f"{path}: no data rows after the header")
    return np.asarray(features, dtype=np.float64), np.asarray(labels, dtype=np.int64)


def load_csv(
    path: str | os.PathLike,
    label: str = "label",
    val_fraction: float = 0.2,
    seed: int = 0,
    name: str | None = None,
    num_classes: int | None = None,
) -> DataSplit:
    """Load a CSV table: a header row, numeric feature columns and an integer label column.

    The label column is the one named ``label`` (default: ``"label"``, or the last column
    if none has that name). A random ``val_fraction`` of the rows (at least one), chosen by
    ``seed``, becomes the validation set; both sets keep the file's row order.
    """
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float)):
        raise ConfigError(f"val_fraction must be a number in (0, 1), got {val_fraction!r}")
    if not 0.0 < val_fraction < 1.0:
        raise ConfigError(f"val_fraction must be in (0, 1), got {val_fraction}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    path = Path(path)
    x, y = _read_csv(path, label)
    n = len(y)
    n_val = max(1, round(n * val_fraction))
    if n_val >= n:
        raise DataError(
            f"{path}: {n} data row(s) cannot be split into non-empty training and validation "
            f"sets with val_fraction={val_fraction}; add rows or lower val_fraction"
        )
    perm = np.random.default_rng(seed).permutation(n)
    val, train = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    x_t, y_t = _float32(x, str(path)), torch.from_numpy(y)
    y_tr, y_va = y_t[train], y_t[val]
    if num_classes is None:
        num_classes = infer_num_classes(y_tr, y_va, path)
    split = DataSplit(x_t[train], y_tr, x_t[val], y_va, num_classes, name or path.stem)
    try:
        return validate(split)
    except DataError as e:
        raise DataError(f"{path}: {e}") from None
