"""User files: .npz and .csv loaders and their error messages; load_dataset dispatch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stablenet.data import DATASETS, load_csv, load_dataset, load_npz
from stablenet.errors import ConfigError, DataError


def arrays(**changes):
    rng = np.random.default_rng(0)
    a = {
        "x_train": rng.normal(size=(8, 3)),
        "y_train": np.array([0, 1, 2, 0, 1, 2, 0, 1]),
        "x_val": rng.normal(size=(4, 3)),
        "y_val": np.array([2, 1, 0, 2]),
    }
    a.update(changes)
    return {k: v for k, v in a.items() if v is not None}


def save(tmp_path, **changes):
    p = tmp_path / "d.npz"
    np.savez(p, **arrays(**changes))
    return p


def test_npz_round_trip(tmp_path):
    p = save(tmp_path)
    s = load_npz(p)
    a = arrays()
    assert s.name == "d" and s.num_classes == 3 and s.x_train.dtype == torch.float32
    assert np.allclose(s.x_val.numpy(), a["x_val"], atol=1e-6)
    assert s.y_train.dtype == torch.int64 and s.y_train.tolist() == a["y_train"].tolist()
    assert load_dataset(str(p)).n_train == 8  # dispatch by suffix
    assert load_npz(p, num_classes=7).num_classes == 7


def test_npz_images_uint8_scaled_and_float_labels_accepted(tmp_path):
    x = np.full((4, 1, 3, 3), 255, dtype=np.uint8)
    p = save(tmp_path, x_train=x, x_val=x[:2], y_train=np.array([0.0, 1, 0, 1]), y_val=[1, 0])
    s = load_npz(p)
    assert s.is_image and s.input_shape == (1, 3, 3) and float(s.x_train.max()) == 1.0
    assert s.y_train.dtype == torch.int64 and s.y_train.tolist() == [0, 1, 0, 1]


NPZ_BAD = {
    "nan": (dict(x_train=np.r_[np.zeros((7, 3)), [[np.nan, 0, 0]]]), "NaN"),
    "inf": (dict(x_val=np.r_[np.zeros((3, 3)), [[0, -np.inf, 0]]]), "Inf"),
    "overflow to inf in float32": (dict(x_val=np.full((4, 3), 1e300)), "float32 range"),
    "wrong dims": (dict(x_train=np.zeros((8, 3, 2))), "2-D"),
    "feature mismatch": (dict(x_val=np.zeros((4, 5))), "must match"),
    "length mismatch": (dict(y_val=np.array([0, 1, 2])), "same length"),
    "non-integer labels": (dict(y_train=np.array([0, 1, 2, 0, 1, 2, 0, 1.5])), "non-integer"),
    "text and number labels": (dict(y_val=np.array(["a", "b", "c", "d"])), "same kind"),
    "validation class unseen": (dict(y_val=np.array([0, 1, -1, 2])), "-1 occur in the valid"),
    "one class": (dict(y_train=np.zeros(8, dtype=int)), "only class 0"),
    "empty val": (dict(x_val=np.zeros((0, 3)), y_val=np.zeros(0, dtype=int)), "empty"),
    "huge label": (dict(y_val=np.array([0, 1, 2, 10**6])), "1000000 occur.*never in the tr"),
    "2-D labels": (dict(y_val=np.zeros((4, 2))), "1-D vector"),
    "missing key": (dict(y_val=None, x_val=None), "missing key.*x_val, y_val"),
}


@pytest.mark.parametrize("case", list(NPZ_BAD))
def test_npz_rejects(tmp_path, case):
    changes, words = NPZ_BAD[case]
    p = save(tmp_path, **changes)
    with pytest.raises(DataError, match=words) as info:
        load_npz(p)
    assert str(p) in str(info.value)


@pytest.mark.parametrize(
    "content, words",
    [(b"", "not a readable"), (b"PK\x03\x04garbage", "not a readable"), (None, "not found")],
)
def test_npz_unreadable(tmp_path, content, words):
    p = tmp_path / "bad.npz"
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(DataError, match=words) as info:
        load_npz(p)
    assert str(p) in str(info.value)


def test_npz_that_is_really_npy_or_pickle(tmp_path):
    p = tmp_path / "a.npz"
    with open(p, "wb") as f:
        np.save(f, np.zeros(3))
    with pytest.raises(DataError, match="single array"):
        load_npz(p)
    q = tmp_path / "o.npz"
    np.savez(q, **arrays(y_val=np.array([0, 1, None, 2], dtype=object)))
    with pytest.raises(DataError, match=str(q)):
        load_npz(q)


def write(tmp_path, text, name="t.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def table(n=20, label_first=False):
    rows = ["label,a,b" if label_first else "a,b,label"]
    for i in range(n):
        row = [str(i * 0.5), str(-i), str(i % 3)]
        rows.append(",".join(row[2:] + row[:2] if label_first else row))
    return "\n".join(rows) + "\n"


def test_csv_split_and_values(tmp_path):
    p = write(tmp_path, table(20))
    s = load_csv(p, val_fraction=0.25, seed=0)
    assert (s.n_train, s.n_val, s.n_features, s.num_classes) == (15, 5, 2, 3)
    x = torch.cat([s.x_train, s.x_val])
    y = torch.cat([s.y_train, s.y_val])
    i = (x[:, 0] * 2).round().long()  # row index recovered from column a
    assert sorted(i.tolist()) == list(range(20))  # every row exactly once
    assert torch.equal(x[:, 1], -i.float()) and torch.equal(y, i % 3)
    assert torch.equal(load_csv(p, val_fraction=0.25, seed=0).x_val, s.x_val)  # deterministic
    assert not torch.equal(load_csv(p, val_fraction=0.25, seed=1).x_val, s.x_val)


def test_csv_label_column_by_name_or_last(tmp_path):
    first = load_csv(write(tmp_path, table(10, label_first=True), "f.csv"))
    last = load_csv(write(tmp_path, table(10), "l.csv"))
    for s in (first, last):
        assert s.n_features == 2 and s.n_train + s.n_val == 10
    nolabel = write(tmp_path, "u,v,cls\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n9,10,1\n", "n.csv")
    assert load_csv(nolabel).n_features == 2  # last column used
    s = load_csv(nolabel, label="v", num_classes=11)  # a named column: 2, 4, .., 10
    assert s.num_classes == 11 and s.n_features == 2
    assert sorted(torch.cat([s.y_train, s.y_val]).tolist()) == [2, 4, 6, 8, 10]
    with pytest.raises(DataError, match="occur in the validation split .* never in the train"):
        load_csv(nolabel, label="u")  # 1, 3, .., 9 as labels: one row per class
    with pytest.raises(DataError, match="no column named 'target'.*'cls'"):
        load_csv(nolabel, label="target")


CSV_BAD = {
    "empty": ("", "empty file"),
    "header only": ("a,label\n", "no data rows"),
    "ragged": ("a,b,label\n1,2,0\n3,1\n", "line 3: 2 fields"),
    "bad number": ("a,b,label\n1,2,0\n1,x7,1\n", "line 3, column 'b'.*'x7' is not a number"),
    "nan": ("a,b,label\n1,2,0\nnan,2,1\n", "line 3, column 'a': non-finite"),
    "float label": ("a,label\n1,0\n2,0.5\n", "line 3, column 'label'.*not a class index"),
    "label unseen in training": ("a,label\n1,0\n2,1\n3,7\n4,1\n5,0\n", "seed 0"),
    "numbers and text": ("a,label\n1,0\n2,1\n3,x\n4,1\n5,0\n", "mixes numbers.*line 4"),
    "empty label": ("a,label\n1,0\n2,\n3,1\n", "line 3: the label .* is empty"),
    "two label columns": ("label,a,Label\n1,0,1\n2,1,0\n", "columns 1 .* and 3 .*both"),
    "one class": ("a,label\n" + "".join(f"{i},1\n" for i in range(10)), "only class 1"),
    "too few rows": ("a,label\n1,0\n", "cannot be split"),
    "no features": ("label\n1\n0\n", "no features"),
    "too large for float32": ("a,label\n1e300,0\n2,1\n3,0\n", "float32 range"),
    "huge integer label": ("a,label\n1,0\n2," + "9" * 30 + "\n", "not a class index"),
    "not utf8": (b"a,label\n\xff\xfe,1\n", "UTF-8"),
}


@pytest.mark.parametrize("case", list(CSV_BAD))
def test_csv_rejects(tmp_path, case):
    text, words = CSV_BAD[case]
    p = tmp_path / "bad.csv"
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(DataError, match=words) as info:
        load_csv(p)
    assert str(p) in str(info.value)


def test_csv_missing_file_and_bad_arguments(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_csv(tmp_path / "none.csv")
    p = write(tmp_path, table(10))
    for bad in (0.0, 1.0, -0.1, "0.2"):
        with pytest.raises(ConfigError):
            load_csv(p, val_fraction=bad)


def test_load_dataset_names_and_errors(tmp_path):
    assert DATASETS == ("ellipses", "swissroll", "peaks", "mnist", "fashion-mnist")
    assert load_dataset("ellipses", n_train=5, n_val=3, seed=4).n_train == 10
    assert torch.equal(
        load_dataset("peaks", seed=3, n_train=4).x_train,
        load_dataset("Peaks", seed=3, n_train=4).x_train,
    )
    assert load_dataset("swissroll").n_train == 513
    with pytest.raises(ConfigError, match="ellipses, swissroll, peaks, mnist, fashion-mnist"):
        load_dataset("cifar10")
    with pytest.raises(ConfigError, match="string or path"):
        load_dataset(3)
    with pytest.raises(ConfigError, match="n_tran"):
        load_dataset("ellipses", n_tran=3)
    with pytest.raises(ConfigError, match="does not take"):
        load_dataset("swissroll", n_train=3)
    with pytest.raises(DataError, match="MNIST/raw"):
        load_dataset("mnist", data_root=tmp_path)
    p = write(tmp_path, table(10))
    assert load_dataset(p, seed=2, val_fraction=0.5).n_val == 5
