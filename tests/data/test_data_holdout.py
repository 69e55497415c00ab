"""One labelled set split at random: ``.npz`` archives with ``x, y`` and CSV tables alike."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from stablenet.data import load_csv, load_dataset, load_npz
from stablenet.data.holdout import holdout
from stablenet.errors import ConfigError, DataError


def whole_set(n=50, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 2)), np.arange(n) % classes


def quiet(load, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load(*args, **kwargs)


@pytest.mark.parametrize("n, fraction", [(2, 0.2), (10, 0.2), (50, 0.2), (51, 0.3), (7, 0.9)])
def test_holdout_partitions_the_rows(n, fraction):
    train, val = holdout(n, fraction, 3, "here")
    assert len(val) == max(1, round(n * fraction)) and len(train) == n - len(val)
    assert sorted(np.r_[train, val].tolist()) == list(range(n))  # disjoint, every row once
    assert (np.diff(train) > 0).all() and (np.diff(val) > 0).all()  # file order kept
    assert not np.array_equal(val, holdout(n, fraction, 4, "here")[1]) or n < 10


def test_holdout_refuses_what_cannot_be_split():
    with pytest.raises(DataError, match="cannot be split"):
        holdout(1, 0.2, 0, "here")
    with pytest.raises(ConfigError, match="val_fraction"):
        holdout(10, 1.0, 0, "here")


@pytest.mark.parametrize("keys", [("x", "y"), ("X", "y"), ("X", "Y")])
def test_npz_with_one_set_is_split_like_the_same_csv_table(tmp_path, keys):
    x, y = whole_set()
    p = tmp_path / "one.npz"
    np.savez(p, **{keys[0]: x, keys[1]: y})
    q = tmp_path / "one.csv"
    rows = (f"{float(a)!r},{float(b)!r},{c}\n" for (a, b), c in zip(x, y, strict=True))
    q.write_text("a,b,label\n" + "".join(rows))
    with pytest.warns(UserWarning, match="drawn at random"):
        s = load_npz(p, seed=5)
    t = quiet(load_csv, q, seed=5)
    assert s.n_train == 40 and s.n_val == 10 and s.num_classes == 3
    for got, want in ((s.x_train, t.x_train), (s.x_val, t.x_val)):
        assert torch.equal(got, want)
    assert torch.equal(s.y_train, t.y_train) and torch.equal(s.y_val, t.y_val)
    train, val = holdout(50, 0.2, 5, "")
    assert torch.equal(s.x_val, torch.from_numpy(x[val]).float())
    assert s.y_train.tolist() == y[train].tolist()


def test_npz_one_set_split_follows_the_seed(tmp_path):
    x, y = whole_set()
    p = tmp_path / "one.npz"
    np.savez(p, x=x, y=y)
    a, b, c = (quiet(load_dataset, str(p), seed=s) for s in (0, 0, 1))
    assert torch.equal(a.x_val, b.x_val) and not torch.equal(a.x_val, c.x_val)
    assert quiet(load_npz, p, val_fraction=0.5).n_val == 25


def test_npz_one_set_of_text_labels_and_images(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(20, 5, 5), dtype=np.uint8)
    labels = np.array(["cat", "dog"] * 10)
    p = tmp_path / "img.npz"
    np.savez(p, x=images, y=labels)
    s = quiet(load_npz, p)
    assert s.is_image and s.input_shape == (1, 5, 5) and float(s.x_train.max()) <= 1.0
    assert s.classes == ("cat", "dog") and s.n_val == 4


@pytest.mark.parametrize("arrays, words", [
    (dict(x=np.zeros((5, 2)), y=np.zeros(4)), r"shape \(5, 2\) and y \(4,\)"),
    (dict(x=np.zeros((5, 2)), y=np.zeros(5), x_train=np.zeros((5, 2))), "missing key"),
    (dict(x=np.zeros((5, 2))), "missing key"),
    (dict(x=np.arange(12.0).reshape(6, 2), y=np.array([0, 1, 0, 2, 1, 0])),
     "never in the train.*drawn at random"),
    (dict(x=np.arange(12.0).reshape(6, 2), y=np.array([0, 0, 0, 1, 0, 0])),
     "only class 0.*drawn at random"),
])
def test_npz_one_set_errors(tmp_path, arrays, words):
    p = tmp_path / "bad.npz"
    np.savez(p, **arrays)
    # the last cases: seed 0 draws row 3, the only one of its class, for validation
    with pytest.raises(DataError, match=words) as info:
        quiet(load_npz, p)
    assert str(p) in str(info.value)


@pytest.mark.parametrize("x, words", [
    (np.arange(6.0), r"x has shape \(6,\).*x\[:, None\]"),
    (np.r_[np.zeros((4, 2)), [[0.0, np.nan]], np.zeros((1, 2))], "x contains NaN .first in row 4"),
])
def test_npz_one_set_bad_inputs_name_the_rows_of_x(tmp_path, x, words):
    """Checked before the split, so the message counts the rows of the file's x."""
    p = tmp_path / "bad.npz"
    np.savez(p, x=x, y=np.array([0, 1, 0, 1, 0, 1]))
    with pytest.raises(DataError, match=words):
        quiet(load_npz, p)


def test_one_class_data_is_not_blamed_on_the_draw(tmp_path):
    p = tmp_path / "one.npz"
    np.savez(p, x=np.zeros((10, 2)), y=np.zeros(10, dtype=int))
    with pytest.raises(DataError, match="only class 0") as info:
        quiet(load_npz, p)
    assert "drawn at random" not in str(info.value)
