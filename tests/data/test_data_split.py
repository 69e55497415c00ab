"""DataSplit properties, .to() and every failure of validate()."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from stablenet.data import DataSplit, DataWarning, subsample, validate
from stablenet.errors import ConfigError, DataError


def make(**changes) -> DataSplit:
    base = DataSplit(
        x_train=torch.randn(6, 3),
        y_train=torch.tensor([0, 1, 2, 0, 1, 2]),
        x_val=torch.randn(3, 3),
        y_val=torch.tensor([2, 1, 0]),
        num_classes=3,
        name="toy",
    )
    return dataclasses.replace(base, **changes)


def test_valid_split_passes_and_reports_shapes():
    s = make()
    assert validate(s) is s
    assert (s.n_features, s.input_shape, s.is_image, s.n_train, s.n_val) == (3, (3,), False, 6, 3)
    img = make(x_train=torch.rand(6, 1, 5, 4), x_val=torch.rand(3, 1, 5, 4))
    validate(img)
    assert img.is_image and img.input_shape == (1, 5, 4) and img.n_features == 1
    assert "toy" in repr(s) and "n_train=6" in repr(s)


def test_split_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        make().name = "other"


def test_to_returns_new_split_with_cast_x_and_int64_y():
    s = make()
    d = s.to(dtype=torch.float64)
    assert d is not s and d.x_train.dtype == torch.float64 and d.x_val.dtype == torch.float64
    assert d.y_train.dtype == torch.int64 and s.x_train.dtype == torch.float32
    assert torch.equal(d.x_train.float(), s.x_train) and d.name == s.name
    assert s.to(device="cpu").x_train.device.type == "cpu"
    with pytest.raises(ConfigError):
        s.to(dtype=torch.int32)


NAN = torch.tensor([[0.0, float("nan"), 1.0]])
INF = torch.tensor([[0.0, float("inf"), 1.0]])

BAD = {
    "nan": (dict(x_train=torch.cat([torch.randn(5, 3), NAN])), "NaN"),
    "inf": (dict(x_val=torch.cat([torch.randn(2, 3), INF])), "Inf"),
    "x 1-D": (dict(x_train=torch.randn(6)), "2-D"),
    "x 3-D": (dict(x_train=torch.randn(6, 2, 2), x_val=torch.randn(3, 2, 2)), "4-D"),
    "x int": (dict(x_train=torch.ones(6, 3, dtype=torch.int64)), "floating"),
    "feature shapes": (dict(x_val=torch.randn(3, 4)), "must match"),
    "length": (dict(y_train=torch.tensor([0, 1, 2, 0, 1])), "same length"),
    "float labels": (dict(y_val=torch.tensor([0.0, 1.0, 2.0])), "integers"),
    "one-hot": (dict(y_val=torch.eye(3, dtype=torch.int64)), "1-D"),
    "label too big": (dict(y_val=torch.tensor([0, 1, 3])), "outside 0..2"),
    "negative label": (dict(y_train=torch.tensor([0, 1, -1, 0, 1, 2])), "outside"),
    "one class": (dict(y_train=torch.zeros(6, dtype=torch.int64)), "only class 0"),
    "empty val": (dict(x_val=torch.zeros(0, 3), y_val=torch.zeros(0, dtype=torch.int64)), "empty"),
    "empty train": (
        dict(x_train=torch.zeros(0, 3), y_train=torch.zeros(0, dtype=torch.int64)),
        "empty",
    ),
    "num_classes 1": (dict(num_classes=1), "num_classes"),
    "bad domain": (dict(domain=(1.0, -1.0, 0.0, 1.0)), "domain"),
    "not a tensor": (dict(x_train=[[0.0, 1.0, 2.0]] * 6), "torch.Tensor"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_validate_rejects(case):
    changes, words = BAD[case]
    with pytest.raises(DataError, match=words) as info:
        validate(make(**changes))
    assert "'toy'" in str(info.value)  # the message names the dataset


def two_class_split(n=10):
    x = torch.arange(2 * n, dtype=torch.float32).reshape(n, 2)
    y = torch.arange(n) % 2
    return DataSplit(x, y, x[:4], y[:4], 2, "s", classes=("no", "yes"))


def test_subsample_checks_the_subset():
    """--limit-train 1 keeps one example: one class, refused naming the limit."""
    split = two_class_split()
    with pytest.raises(DataError, match=r"only class '(no|yes)'.*limit_train=1\); keep more"):
        subsample(split, limit_train=1, seed=0)
    sub = subsample(split, limit_train=4, limit_val=2, seed=3)
    assert (sub.n_train, sub.n_val) == (4, 2) and sub.classes == ("no", "yes")
    rows = (sub.x_train[:, 0] / 2).long()
    assert torch.equal(sub.y_train, rows % 2) and torch.equal(rows, rows.sort().values)
    assert subsample(split) is split


def test_subsample_names_classes_the_subset_lacks():
    x = torch.arange(30, dtype=torch.float32).reshape(10, 3)
    y = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1, 0, 2])
    split = DataSplit(x, y, x[:3], y[:3], 3, "s")
    for seed in range(50):  # a seed whose 3-example subset lacks class 2 (it has 1 of 10)
        try:
            with pytest.warns(DataWarning, match=r"has no example of class\(es\) 2"):
                sub = subsample(split, limit_train=3, seed=seed)
            break
        except DataError:
            continue
    assert 2 not in sub.y_train.tolist() and sub.notes
