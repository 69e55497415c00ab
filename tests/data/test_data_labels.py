"""Labels a user has (text, integers with gaps or offsets, one-hot) -> classes 0..C-1,
and the labels that cannot be right (each a DataError naming the problem)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stablenet.data import DataWarning, encode_labels, load_csv, load_npz
from stablenet.errors import DataError


def csv(tmp_path, labels, name="t.csv"):
    p = tmp_path / name
    rows = [f"{i},{2 * i % 7},{lab}" for i, lab in enumerate(labels)]
    p.write_text("a,b,species\n" + "\n".join(rows) + "\n")
    return p


def all_labels(split):
    """The user's label of every row, training then validation."""
    return [split.classes[k] for k in torch.cat([split.y_train, split.y_val]).tolist()]


def test_text_labels_become_sorted_classes(tmp_path):
    names = ["setosa", "versicolor", "virginica"] * 5
    p = csv(tmp_path, names)
    with pytest.warns(DataWarning, match="only column of text, 'species', is used as the label"):
        s = load_csv(p, val_fraction=0.2)
    assert s.classes == ("setosa", "versicolor", "virginica") and s.num_classes == 3
    x = torch.cat([s.x_train, s.x_val])
    rows = x[:, 0].round().long().tolist()  # column a is the row number
    assert [names[i] for i in rows] == all_labels(s)
    assert s.feature_names == ("a", "b") and s.label_name == "species"


def test_integer_labels_with_gaps_are_mapped_with_a_note(tmp_path):
    labels = [1, 2, 5] * 6
    p = tmp_path / "g.csv"
    p.write_text("a,label\n" + "".join(f"{i},{v}\n" for i, v in enumerate(labels)))
    with pytest.warns(DataWarning, match=r"1 -> 0, 2 -> 1, 5 -> 2"):
        s = load_csv(p)
    assert s.classes == (1, 2, 5) and s.num_classes == 3
    rows = torch.cat([s.x_train, s.x_val])[:, 0].long().tolist()
    assert [labels[i] for i in rows] == all_labels(s)


def test_npz_labels_five_and_six_are_two_classes(tmp_path):
    rng = np.random.default_rng(0)
    p = tmp_path / "d.npz"
    np.savez(p, x_train=rng.normal(size=(6, 2)), y_train=[5, 6, 5, 6, 6, 5],
             x_val=rng.normal(size=(2, 2)), y_val=[6, 5])
    with pytest.warns(DataWarning, match="5 -> 0, 6 -> 1"):
        s = load_npz(p)
    assert s.num_classes == 2 and s.classes == (5, 6)
    assert s.y_train.tolist() == [0, 1, 0, 1, 1, 0] and s.y_val.tolist() == [1, 0]


def test_npz_text_one_hot_and_column_labels(tmp_path):
    x = np.zeros((4, 2))
    p = tmp_path / "t.npz"
    np.savez(p, x_train=x, y_train=np.array(["no", "yes", "yes", "no"]), x_val=x[:2],
             y_val=np.array(["yes", "no"]))
    s = load_npz(p)
    assert s.classes == ("no", "yes") and s.y_val.tolist() == [1, 0]
    eye = np.eye(3)[[0, 1, 2, 1]]
    np.savez(p, x_train=x, y_train=eye, x_val=x[:2], y_val=np.array([[2], [0]]))
    with pytest.warns(DataWarning, match="one-hot"):
        s = load_npz(p)
    assert s.y_train.tolist() == [0, 1, 2, 1] and s.y_val.tolist() == [2, 0]


BAD = {
    "validation class unseen": (["a", "b", "a", "b"], ["c", "c", "a"], "'c' occur in the valid.*2"),
    "single class": ([3, 3, 3], [3], "only class 3"),
    "text and numbers": ([0, 1], ["1"], "numbers but the validation labels are text"),
    "empty training": ([], [0], "training set is empty"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_labels_that_cannot_be_right(case):
    train, val, words = BAD[case]

    def array(v):
        return np.array(v, dtype=str if v and isinstance(v[0], str) else np.int64)

    with pytest.raises(DataError, match=words) as info:
        encode_labels(array(train), array(val), "f.csv")
    assert str(info.value).startswith("f.csv: ")


def test_non_integer_numeric_labels_are_refused(tmp_path):
    p = tmp_path / "f.csv"
    p.write_text("a,label\n1,0\n2,1.5\n3,1\n")
    with pytest.raises(DataError, match="line 3.*'1.5' is not a class index.*whole numbers"):
        load_csv(p)
    q = tmp_path / "f.npz"
    np.savez(q, x_train=np.zeros((3, 1)), y_train=[0, 1, 0.25], x_val=np.zeros((1, 1)),
             y_val=[0])
    with pytest.raises(DataError, match="non-integer label 0.25"):
        load_npz(q)


def test_explicit_num_classes_keeps_labels_as_indices(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, x_train=np.zeros((4, 2)), y_train=[0, 2, 0, 2], x_val=np.zeros((1, 2)),
             y_val=[1])  # class 1 unseen in training: allowed when the classes are given
    s = load_npz(p, num_classes=3)
    assert s.classes == (0, 1, 2) and s.y_val.tolist() == [1]
    np.savez(p, x_train=np.zeros((2, 2)), y_train=["a", "b"], x_val=np.zeros((1, 2)),
             y_val=["a"])
    with pytest.raises(DataError, match="labels are text"):
        load_npz(p, num_classes=2)
