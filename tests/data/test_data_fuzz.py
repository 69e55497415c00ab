"""Fuzz: whatever bytes or arrays a user's file holds, loaders succeed or raise DataError.

The strategies mix pure noise with almost-valid inputs (real headers, consistent shapes,
one poisoned value), so both the error paths and the success paths are exercised.
"""

from __future__ import annotations

import gzip
import struct

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stablenet.data import DataSplit, load_csv, load_mnist, load_npz, read_idx, write_idx
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
