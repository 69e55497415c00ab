"""The paper's 2-D test problems (Haber & Ruthotto, section 6; generators of the authors' code).

Each function returns a validated :class:`DataSplit` with x ``[N, 2]`` float32 and y int64.
Examples are stored class block by class block, in the order the authors' code stacks them
(no shuffling; shuffle mini-batches in training). Label conventions follow the authors'
code, where the inner structure gets label 1:

* ``ellipses``: label 1 = inner ellipse (r ~ U(0, 1)), label 0 = outer ring (r ~ U(1, 2));
  the label-1 block comes first.
* ``swissroll``: label 1 = arm with radius linspace(0, 1), stacked first; label 0 = arm with
  radius linspace(0.2, 1.2).
* ``peaks``: label k = k-th of 5 equal-width bins of z, from the lowest values up.

Random problems draw from ``numpy.random.default_rng(seed)``: the same seed gives the same
data; the validation set is an independent draw after the training set.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from stablenet.data.split import DataSplit, validate
from stablenet.errors import ConfigError

PEAKS_GRID = 256
PEAKS_CLASSES = 5


def _check_count(value: object, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _split(x_tr, y_tr, x_va, y_va, num_classes: int, name: str, domain) -> DataSplit:
    return validate(
        DataSplit(
            x_train=torch.as_tensor(np.asarray(x_tr, dtype=np.float32)),
            y_train=torch.as_tensor(np.asarray(y_tr, dtype=np.int64)),
            x_val=torch.as_tensor(np.asarray(x_va, dtype=np.float32)),
            y_val=torch.as_tensor(np.asarray(y_va, dtype=np.int64)),
            num_classes=num_classes,
            name=name,
            domain=domain,
        )
    )


def _ellipse_points(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n inner (label 1) then n outer (label 0) points ``(r cos t, 0.4 r sin t)``."""
    blocks, labels = [], []
    for r_lo, label in ((0.0, 1), (1.0, 0)):
        r = r_lo + rng.random(n)
        t = 2.0 * math.pi * rng.random(n)
        blocks.append(np.stack([r * np.cos(t), 0.4 * r * np.sin(t)], axis=1))
        labels.append(np.full(n, label))
    return np.concatenate(blocks), np.concatenate(labels)


def ellipses(n_train: int = 1000, n_val: int = 200, seed: int = 0) -> DataSplit:
    """Two concentric ellipses; ``n_train`` and ``n_val`` points *per class*.

    Inner class (label 1): r ~ U(0, 1); outer class (label 0): r ~ U(1, 2); angle
    t ~ U(0, 2 pi); point ``(r cos t, 0.4 r sin t)``. Domain ``[-2, 2] x [-1, 1]``.
    """
    n_train, n_val = _check_count(n_train, "n_train"), _check_count(n_val, "n_val")
    rng = np.random.default_rng(_check_seed(seed))
    x_tr, y_tr = _ellipse_points(rng, n_train)
    x_va, y_va = _ellipse_points(rng, n_val)
    return _split(x_tr, y_tr, x_va, y_va, 2, "ellipses", (-2.0, 2.0, -1.0, 1.0))


def swissroll() -> DataSplit:
    """The deterministic two-arm swiss roll: 2 x 513 points, even indices train, odd val.

    ``theta = 0, 4 pi/512, ..., 4 pi`` (513 values). Arm 1 (label 1, stacked first) has radius
    ``linspace(0, 1, 513)``, arm 0 (label 0) radius ``linspace(0.2, 1.2, 513)``; point
    ``(r cos theta, r sin theta)``. Of the 1026 stacked points, indices 0, 2, 4, ... are
    training (513 points: 257 of label 1, 256 of label 0) and 1, 3, 5, ... validation.
    Domain ``[-1.2, 1.2]^2``.
    """
    theta = np.linspace(0.0, 4.0 * math.pi, 513)
    arms, labels = [], []
    for r0, r1, label in ((0.0, 1.0, 1), (0.2, 1.2, 0)):
        r = np.linspace(r0, r1, theta.size)
        arms.append(np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1))
        labels.append(np.full(theta.size, label))
    x, y = np.concatenate(arms), np.concatenate(labels)
    return _split(x[0::2], y[0::2], x[1::2], y[1::2], 2, "swissroll", (-1.2, 1.2, -1.2, 1.2))


def peaks_z(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """MATLAB's ``peaks`` function z(x, y)."""
    return (
        3.0 * (1.0 - x) ** 2 * np.exp(-(x**2) - (y + 1.0) ** 2)
        - 10.0 * (x / 5.0 - x**3 - y**5) * np.exp(-(x**2) - y**2)
        - 1.0 / 3.0 * np.exp(-((x + 1.0) ** 2) - y**2)
    )


def peaks_grid(ns: int = PEAKS_GRID, nc: int = PEAKS_CLASSES):
    """The ``ns x ns`` grid over ``[-3, 3]^2`` flattened: ``(points [ns*ns, 2], labels)``.

    A point's label is k when z lies in ``(lo + k h, lo + (k+1) h]``, ``h = (hi - lo)/nc``,
    with ``lo, hi`` the min and max of z on the grid (the minimum itself gets label 0), as
    in the authors' code.
    """
    t = np.linspace(-3.0, 3.0, ns)
    xx, yy = np.meshgrid(t, t)
    z = peaks_z(xx, yy).ravel()
    lo, hi = z.min(), z.max()
    h = (hi - lo) / nc
    labels = np.zeros(z.size, dtype=np.int64)
    for k in range(1, nc):
        labels += z > lo + k * h
    return np.stack([xx.ravel(), yy.ravel()], axis=1), labels


def _peaks_draw(rng, points, labels, n: int, nc: int) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for k in range(nc):
        members = np.flatnonzero(labels == k)
        xs.append(points[members[rng.integers(0, members.size, n)]])
        ys.append(np.full(n, k))
    return np.concatenate(xs), np.concatenate(ys)


def peaks(n_train: int = 1000, n_val: int = 200, seed: int = 0) -> DataSplit:
    """Five classes of grid points binned by MATLAB's ``peaks`` height; counts *per class*.

    Each class draws ``n_train`` (then, independently, ``n_val``) of its grid points
    uniformly with replacement from the 256 x 256 grid over ``[-3, 3]^2`` (see
    :func:`peaks_grid`). Domain ``[-3, 3]^2``.
    """
    n_train, n_val = _check_count(n_train, "n_train"), _check_count(n_val, "n_val")
    rng = np.random.default_rng(_check_seed(seed))
    points, labels = peaks_grid()
    x_tr, y_tr = _peaks_draw(rng, points, labels, n_train, PEAKS_CLASSES)
    x_va, y_va = _peaks_draw(rng, points, labels, n_val, PEAKS_CLASSES)
    return _split(x_tr, y_tr, x_va, y_va, PEAKS_CLASSES, "peaks", (-3.0, 3.0, -3.0, 3.0))
