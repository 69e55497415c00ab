"""The defaults for a user's feature data: how they resolve, and that they sit inside the
stability region of the Verlet / leapfrog integrators before and after a default run."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from stablenet.train import TrainConfig, resolve, train
from stablenet.train.defaults import DEFAULTS_USER, USER_MIN_WIDTH, user_width


@pytest.mark.parametrize("n_features, width", [(1, 32), (2, 32), (31, 32), (32, 32),
                                               (33, 33), (64, 64), (500, 500)])
def test_width_rule(n_features, width):
    """width = max(32, F): never narrower than the zero-padded input, at least 32."""
    assert USER_MIN_WIDTH == 32 and user_width(n_features) == width
    cfg = resolve(TrainConfig(dataset="table.csv"), is_image=False, n_features=n_features)
    assert cfg.width == width


def test_user_data_resolve_to_the_user_defaults():
    cfg = resolve(TrainConfig(dataset="my.npz", arch="leapfrog"), False, 5)
    for key, value in DEFAULTS_USER.items():
        if key != "width":
            assert getattr(cfg, key) == value, key
    assert cfg.standardize == "features" and cfg.init == "smooth" and cfg.metric == "sobolev"
    assert cfg.optimizer == "adam" and cfg.batch_size == 32
    assert cfg.T / cfg.depth <= 0.15  # the step that keeps trained weights stable (issue 13)


def table(path, rows=120, features=4, seed=0):
    """Three Gaussian classes on features of scales 1 .. 1000 (as raw user data has)."""
    rng = np.random.default_rng(seed)
    y = np.arange(rows) % 3
    x = (rng.normal(size=(rows, features)) + 1.5 * np.eye(3, features)[y])
    x = x * np.logspace(0, 3, features)
    lines = [",".join([f"f{j}" for j in range(features)] + ["label"])]
    lines += [",".join([*(f"{v:.6g}" for v in r), f"c{k}"]) for r, k in zip(x, y, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("arch", ["hamiltonian", "leapfrog"])
def test_a_default_run_stays_inside_the_stability_region(tmp_path, arch):
    """No instability warning at the start, and the trained network passes the check at data
    (h |lambda| <= 2 for every layer); a run that would not learn is caught as well."""
    import torch

    from stablenet.analysis import stability_margins

    csv = table(tmp_path / "t.csv")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = train(TrainConfig(dataset=str(csv), arch=arch))  # every option at its default
    unstable = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert unstable == []
    model = result.model
    x = torch.tensor(np.loadtxt(csv, delimiter=",", skiprows=1, usecols=range(4),
                                dtype=np.float32))
    margins = stability_margins(model, x[:8])  # measured: smallest margin 1.68-1.70 (of 2)
    assert all(m.stable for m in margins), [m.min_margin for m in margins]
    assert result.metrics["best_val_accuracy"] > 0.6  # chance is 1/3
