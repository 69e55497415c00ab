"""The user-style problems of ``benchmarks/userdata.py``: scikit-learn tables and generators.

Each problem is a function ``seed -> (x [N, F], y [N])`` with the labels as a user has them
(iris as species names, hastie as -1 / +1, scaled_classification as 1, 2, 3). Bundled tables
are the same at every seed (the seed then changes the test split and the training seed
only); generated problems are drawn afresh per seed.

Two sets. ``tuning``: the problems the defaults of ``DEFAULTS_USER`` were chosen on (2 to 30
features, 2 to 4 classes, 150 to 1000 rows, raw scales from 0.01 to 1000). ``held-out``:
never looked at while choosing them, reported separately; they extend the range (64
features, 10 classes, 1797 rows; radial and blob geometry; 20 features on scales 1e-2 to
1e3 with offset labels; the nonlinear 10-feature hastie problem) to show how the rules
(width from the feature count, ...) generalise.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Problem = Callable[[int], tuple[np.ndarray, np.ndarray]]


def problems() -> dict[str, Problem]:
    """Every problem by name (scikit-learn is imported here, lazily)."""
    from sklearn import datasets as d

    def iris(seed):
        data = d.load_iris()
        return data.data, data.target_names[data.target]  # text labels, as a user has them

    def classification(seed):  # 20 features: 8 informative, 6 redundant, 6 noise; 4 classes
        return d.make_classification(1000, 20, n_informative=8, n_redundant=6, n_classes=4,
                                     n_clusters_per_class=2, random_state=100 + seed)

    def scaled_classification(seed):  # 20 features, 6 informative, scales 1e-2 .. 1e3
        x, y = d.make_classification(600, 20, n_informative=6, n_classes=3,
                                     random_state=200 + seed)
        return x * np.logspace(-2, 3, 20), y + 1  # labels 1, 2, 3

    def hastie(seed):  # 10 Gaussian features, class = sum x_j^2 > 9.34 (labels -1, +1)
        x, y = d.make_hastie_10_2(1000, random_state=200 + seed)
        return x, y.astype(int)

    return {
        "iris": iris,
        "wine": lambda seed: d.load_wine(return_X_y=True),
        "breast_cancer": lambda seed: d.load_breast_cancer(return_X_y=True),
        "moons": lambda seed: d.make_moons(500, noise=0.25, random_state=100 + seed),
        "circles": lambda seed: d.make_circles(500, noise=0.1, factor=0.5,
                                               random_state=100 + seed),
        "classification": classification,
        "digits": lambda seed: d.load_digits(return_X_y=True),  # 8 x 8 images as 64 features
        "blobs": lambda seed: d.make_blobs(600, centers=4, cluster_std=2.0,
                                           random_state=200 + seed),
        "quantiles": lambda seed: d.make_gaussian_quantiles(n_samples=500, n_features=2,
                                                            n_classes=3,
                                                            random_state=200 + seed),
        "scaled_classification": scaled_classification,
        "hastie": hastie,
    }


SETS = {"tuning": ("iris", "wine", "breast_cancer", "moons", "circles", "classification"),
        "held-out": ("digits", "blobs", "quantiles", "scaled_classification", "hastie")}
#: ``--quick``: one seed of a few problems of each set (about a minute on one core)
QUICK = ("iris", "wine", "moons", "blobs", "quantiles")
