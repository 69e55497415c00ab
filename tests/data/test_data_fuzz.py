"""Fuzz: whatever bytes or arrays a user's file holds, loaders succeed or raise DataError.

The strategies mix pure noise with almost-valid inputs (real headers, consistent shapes,
one poisoned value), so both the error paths and the success paths are exercised.
"""

from __future__ import annotations

import gzip
import struct
import warnings

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stablenet.data import (
    DataSplit,
    DataWarning,
    load_csv,
    load_mnist,
    load_npz,
    read_idx,
    write_idx,
)
from stablenet.errors import DataError

FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,  # write nothing outside tmp_path
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
ITEMSIZE = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}


def succeeds_or_dataerror(fn, *args, **kwargs):
    """Call fn; a DataError is fine, any other exception fails the test."""
    try:
        return fn(*args, **kwargs)
    except DataError as e:
        assert str(e)  # a message, not an empty error
        return None


@st.composite
def idx_like(draw) -> bytes:
    """Noise, or a real-looking idx header with a payload of about the right size."""
    if draw(st.integers(0, 3)) == 0:
        return draw(st.binary(max_size=200))
    code = draw(st.sampled_from([*ITEMSIZE, 0x07, 0xFF]))
    dims = draw(st.lists(st.integers(0, 6), max_size=4))
    head = bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)
    size = int(np.prod(dims)) * ITEMSIZE.get(code, 1)
    delta = draw(st.sampled_from([0, 0, 0, -1, 1, -2, 2]))
    return head + draw(st.binary(min_size=max(size + delta, 0), max_size=max(size + delta, 0)))


@FUZZ
@given(raw=idx_like(), compress=st.sampled_from(["none", "gzip", "cut gzip"]), gz=st.booleans())
def test_fuzz_idx(tmp_path, raw, compress, gz):
    data = raw if compress == "none" else gzip.compress(raw)
    if compress == "cut gzip":
        data = data[: len(data) // 2]
    p = tmp_path / ("f.gz" if gz else "f.idx")
    p.write_bytes(data)
    arr = succeeds_or_dataerror(read_idx, p)
    if arr is not None:
        assert isinstance(arr, np.ndarray) and arr.ndim >= 1


MNIST_FILES = [
    f"{p}-{k}-ubyte.gz" for p in ("train", "t10k") for k in ("images-idx3", "labels-idx1")
]


@st.composite
def mnist_member(draw, images: bool) -> np.ndarray:
    """A well-formed idx array of a random, often valid, shape, dtype and content."""
    count = draw(st.sampled_from([4, 4, 4, 0, 5]))
    good = (count, 28, 28) if images else (count,)
    shape = draw(st.sampled_from([good, good, (count, 28, 27), (count, 2), (count,)]))
    dtype = draw(st.sampled_from(["uint8", "uint8", "int16", "float32"]))
    return np.full(shape, draw(st.integers(0, 12)), dtype=dtype)


@FUZZ
@given(which=st.integers(0, 3), noise=st.booleans(), data=st.data())
def test_fuzz_mnist_file(tmp_path, which, noise, data):
    raw_dir = tmp_path / "MNIST" / "raw"
    raw_dir.mkdir(parents=True, exist_ok=True)
    for name in MNIST_FILES:
        shape = (4, 28, 28) if "images" in name else (4,)
        write_idx(
            raw_dir / name, np.arange(int(np.prod(shape)), dtype=np.uint8).reshape(shape) % 10
        )
    target = raw_dir / MNIST_FILES[which]
    if noise:
        target.write_bytes(gzip.compress(data.draw(idx_like())))
    else:
        write_idx(target, data.draw(mnist_member(images=which % 2 == 0)))
    split = succeeds_or_dataerror(load_mnist, tmp_path)
    assert split is None or isinstance(split, DataSplit)


@FUZZ
@given(raw=st.binary(max_size=300), zip_header=st.booleans())
def test_fuzz_npz_bytes(tmp_path, raw, zip_header):
    p = tmp_path / "f.npz"
    p.write_bytes((b"PK\x03\x04" if zip_header else b"") + raw)
    succeeds_or_dataerror(load_npz, p)


DTYPES = st.sampled_from(["float64", "float32", "int64", "uint8", "int8", "bool", "complex64"])
SPECIAL = st.sampled_from([np.nan, np.inf, -np.inf, 1e39, 0.5, -1.0, 7.0])


def poisoned(draw, values: list, chance: int = 4) -> list:
    """With probability 1/chance, replace one entry by a special value."""
    if values and draw(st.sampled_from([False] * (chance - 1) + [True])):
        values[draw(st.integers(0, len(values) - 1))] = draw(SPECIAL)
    return values


@st.composite
def random_array(draw) -> np.ndarray:
    shape = draw(st.lists(st.integers(0, 4), max_size=4))
    n = int(np.prod(shape))
    values = poisoned(
        draw, draw(st.lists(st.sampled_from([0.0, 1.0, 2.0]), min_size=n, max_size=n))
    )
    with np.errstate(invalid="ignore", over="ignore"):
        return np.array(values, dtype=np.float64).astype(draw(DTYPES)).reshape(shape)


@st.composite
def consistent_parts(draw) -> dict:
    """Arrays of matching lengths and feature shapes; dtypes random, values sometimes bad."""
    feature_shape = draw(st.sampled_from([(2,), (3,), (1, 2, 2)]))
    parts = {}
    for part in ("train", "val"):
        n = draw(st.sampled_from([3, 5, 2, 6, 4, 1, 0]))
        shape = (n, *feature_shape)
        size = int(np.prod(shape))
        x = poisoned(draw, draw(st.lists(st.floats(-3, 3), min_size=size, max_size=size)))
        y = poisoned(draw, [i % 3 for i in range(n)])
        x_dtype = draw(
            st.sampled_from(["float32", "float64", "float32", "uint8", "float32", "complex64"])
        )
        with np.errstate(invalid="ignore", over="ignore"):
            parts[f"x_{part}"] = np.array(x, dtype=np.float64).astype(x_dtype).reshape(shape)
            y_dtype = draw(st.sampled_from(["int64", "float64"]))
            parts[f"y_{part}"] = np.array(y, dtype=np.float64).astype(y_dtype)
    return parts


@FUZZ
@given(
    parts=st.one_of(
        consistent_parts(),
        st.fixed_dictionaries(
            {},
            optional={k: random_array() for k in ("x_train", "y_train", "x_val", "y_val", "z")},
        ),
    )
)
def test_fuzz_npz_arrays(tmp_path, parts):
    p = tmp_path / "a.npz"
    np.savez(p, **parts)
    split = succeeds_or_dataerror(load_npz, p)
    if split is not None:
        assert split.n_train >= 1 and split.n_val >= 1 and split.num_classes >= 2


@st.composite
def csv_rows(draw) -> list[list[str]]:
    """Rows 'a,b,label' of numbers, sometimes with a bad cell or a ragged row."""
    n = draw(st.sampled_from([6, 10, 3, 1, 0]))
    rows = [
        [draw(st.sampled_from(["0", "1.5", " -2 ", "1e3"])) for _ in range(2)] for _ in range(n)
    ]
    for i, row in enumerate(rows):
        row.append(str(i % 2) if draw(st.integers(0, 5)) else draw(st.sampled_from(["2", "1.0"])))
    if rows and draw(st.booleans()):
        bad = ["x", "", "nan", "1e39", "0.5", "-1", '"3"', "1,2", "9" * 25]
        rows[draw(st.integers(0, len(rows) - 1))][draw(st.integers(0, 2))] = draw(
            st.sampled_from(bad)
        )
    return rows


@FUZZ
@given(
    rows=csv_rows(),
    text=st.text(alphabet="0123456789.,-+e\n\r\"' nalbx\x00\xe9", max_size=120),
    raw=st.binary(max_size=60),
    kind=st.sampled_from(["rows", "rows", "text", "raw"]),
)
def test_fuzz_csv(tmp_path, rows, text, raw, kind):
    p = tmp_path / "t.csv"
    body = "a,b,label\n" + "".join(",".join(r) + "\n" for r in rows)
    if kind == "text":
        body = "a,b,label\n" + text
    p.write_bytes(raw if kind == "raw" else body.encode())
    split = succeeds_or_dataerror(load_csv, p, val_fraction=0.3)
    if split is not None and kind != "raw":
        assert split.n_features == 2 and split.n_train + split.n_val >= 2


# -- well-formed tables and archives of random layout: the right answer, or a named refusal --

LABEL_HEADERS = ["label", "Label", "LABEL", "target", "Class", "labels"]
OTHER_HEADERS = ["x", "b", "Height", "v2", "t emp", "2019"]


@st.composite
def class_names(draw) -> list:
    """2-4 class names: ints with gaps or offsets, whole floats, or text."""
    kind = draw(st.sampled_from(["int", "float", "text"]))
    k = draw(st.integers(2, 4))
    return {"int": draw(st.lists(st.integers(-5, 9), min_size=k, max_size=k, unique=True)),
            "float": [float(v) for v in range(k)],
            "text": draw(st.lists(st.sampled_from(["setosa", "a", "B", "ja", "no", "x y"]),
                                  min_size=k, max_size=k, unique=True))}[kind]


@st.composite
def label_values(draw, n: int, names: list | None = None) -> list:
    """n labels drawn from ``names`` (or from fresh class names)."""
    names = names or draw(class_names())
    return [names[draw(st.integers(0, len(names) - 1))] for _ in range(n)]


@st.composite
def tables(draw) -> dict:
    """A well-formed table: a row-id column, 0-2 more features, a label column anywhere;
    header named or absent; ',' or ';' separated."""
    n = draw(st.integers(5, 30))
    n_feat = draw(st.integers(1, 3))
    labels = draw(label_values(n))
    header = draw(st.booleans())
    named = header and draw(st.booleans())  # the label column has a label name
    numeric_labels = not isinstance(labels[0], str)
    # where the loader must find the label: named anywhere; text anywhere; else last
    last = not named and (numeric_labels or not header)
    pos = n_feat if last else draw(st.integers(0, n_feat))
    feat_names = draw(st.lists(st.sampled_from(OTHER_HEADERS), min_size=n_feat - 1,
                               max_size=n_feat - 1, unique=True))
    names = ["rid", *feat_names]
    label_name = draw(st.sampled_from(LABEL_HEADERS)) if named else "y_col"
    cols = names[:pos] + [label_name] + names[pos:]
    rng = np.random.default_rng(draw(st.integers(0, 99)))
    rows = []
    for i in range(n):
        feats = [str(i)] + [f"{v:.3f}" for v in rng.normal(0, 10, n_feat - 1)]
        rows.append(feats[:pos] + [str(labels[i])] + feats[pos:])
    sep = draw(st.sampled_from([",", ",", ";"]))
    lines = ([sep.join(cols)] if header else []) + [sep.join(r) for r in rows]
    return dict(text="\n".join(lines) + "\n", labels=labels, n=n, n_feat=n_feat,
                header=cols if header else None, pos=pos, seed=draw(st.integers(0, 5)),
                val_fraction=draw(st.sampled_from([0.2, 0.3, 0.5])))


def explained_label_error(error: DataError, y_train: list, y_val: list) -> bool:
    """The refusal is one of the label refusals, and true of this split."""
    msg = str(error)
    if "never in the training split" in msg:
        return bool(set(y_val) - set(y_train))
    if "only class" in msg:
        return len(set(y_train)) == 1
    return False


@FUZZ
@given(t=tables())
def test_fuzz_csv_layouts_give_the_right_answer(tmp_path, t):
    p = tmp_path / "t.csv"
    p.write_text(t["text"])
    labels = [float(v) if isinstance(v, float) else v for v in t["labels"]]
    perm = np.random.default_rng(t["seed"]).permutation(t["n"])
    n_val = max(1, round(t["n"] * t["val_fraction"]))
    val_rows = set(perm[:n_val].tolist())
    y_val = [labels[i] for i in sorted(val_rows)]
    y_train = [labels[i] for i in range(t["n"]) if i not in val_rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        try:
            s = load_csv(p, seed=t["seed"], val_fraction=t["val_fraction"])
        except DataError as e:
            assert explained_label_error(e, y_train, y_val), (str(e), t["text"])
            return
    x = torch.cat([s.x_train, s.x_val])
    ids = x[:, 0].round().long().tolist()  # feature 0 is the row id
    assert sorted(ids) == list(range(t["n"]))  # no row lost or invented, header or not
    got = [s.classes[k] for k in torch.cat([s.y_train, s.y_val]).tolist()]
    assert got == [labels[i] for i in ids]  # every row keeps its own label
    assert list(s.classes) == sorted(set(y_train))
    assert s.n_features == t["n_feat"]
    if t["header"] is not None:
        assert s.label_name == t["header"][t["pos"]]
        assert list(s.feature_names) == [c for j, c in enumerate(t["header"]) if j != t["pos"]]
    else:
        assert s.feature_names is None


@st.composite
def image_archives(draw) -> dict:
    """x 2-D, channels-first, channels-last or uint8 [N, H, W]; dtypes mixed across the
    splits; labels with offsets, as ints, whole floats or text."""
    layout = draw(st.sampled_from(["features", "first", "last", "hw"]))
    c = draw(st.sampled_from([1, 3]))
    h, w = draw(st.sampled_from([2, 5, 6])), draw(st.sampled_from([2, 5, 7]))
    shape = {"features": (draw(st.integers(1, 4)),), "first": (c, h, w), "last": (h, w, c),
             "hw": (h, w)}[layout]
    out = {"layout": layout, "shape": shape}
    names = draw(class_names())
    for part in ("train", "val"):
        n = draw(st.integers(len(names), 8))
        dtype = "uint8" if layout == "hw" else draw(
            st.sampled_from(["uint8", "float32", "float64", "int16"]))
        top = draw(st.sampled_from([1.0, 255.0, 300.0])) if dtype != "uint8" else 255.0
        rng = np.random.default_rng(draw(st.integers(0, 99)))
        x = rng.uniform(-top if top == 300 else 0, top, size=(n, *shape))
        out[f"x_{part}"] = (np.round(x) if dtype in ("uint8", "int16") else x).astype(dtype)
        y = draw(label_values(n, names))
        if part == "train" and draw(st.integers(0, 5)):  # mostly: every class in training
            y[:len(names)] = names
        out[f"y_{part}"] = y
    return out


@FUZZ
@given(a=image_archives(), y_dtype=st.sampled_from(["auto", "int32", "float64"]))
def test_fuzz_npz_layouts_give_the_right_answer(tmp_path, a, y_dtype):
    ys = {}
    for k in ("y_train", "y_val"):
        y = np.array(a[k])
        if y.dtype.kind in "iuf" and y_dtype != "auto":
            y = y.astype(y_dtype)
        ys[k] = y
    if ys["y_train"].dtype.kind != ys["y_val"].dtype.kind and "U" in (
            ys["y_train"].dtype.kind + ys["y_val"].dtype.kind):
        return  # text in one split and numbers in the other: covered by test_data_labels
    p = tmp_path / "a.npz"
    np.savez(p, x_train=a["x_train"], x_val=a["x_val"], **ys)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        try:
            s = load_npz(p)
        except DataError as e:
            msg = str(e)
            y_tr = [float(v) if isinstance(v, float) else v for v in a["y_train"]]
            y_va = [float(v) if isinstance(v, float) else v for v in a["y_val"]]
            images = a["layout"] != "features"
            mixed = images and len({a["x_train"].dtype == np.uint8,
                                    a["x_val"].dtype == np.uint8}) == 2
            assert explained_label_error(e, y_tr, y_va) or (
                mixed and "store both splits on the same scale" in msg), msg
            return
    h_w_c = {"first": a["shape"], "last": a["shape"][2:] + a["shape"][:2],
             "hw": (1, *a["shape"]), "features": a["shape"]}[a["layout"]]
    assert s.input_shape == tuple(h_w_c)
    uint8 = [k for k in ("x_train", "x_val") if a[k].dtype == np.uint8]
    for k, got in (("x_train", s.x_train), ("x_val", s.x_val)):
        x = a[k].astype(np.float64)
        if a["layout"] == "last":
            x = x.transpose(0, 3, 1, 2)
        elif a["layout"] == "hw":
            x = x[:, None]
        if uint8 and a["layout"] != "features" and (k in uint8 or a[k].max() > 1):
            x = x / 255
        assert np.allclose(got.numpy(), x, rtol=1e-6, atol=1e-6), k
    if uint8 and a["layout"] != "features":
        assert 0 <= float(s.x_train.min()) and float(s.x_train.max()) <= 1  # one scale
        assert 0 <= float(s.x_val.min()) and float(s.x_val.max()) <= 1
    got = [s.classes[k] for k in s.y_train.tolist()]
    assert got == [float(v) if isinstance(v, float) else v for v in a["y_train"]]
    assert s.num_classes == len(set(a["y_train"]))
