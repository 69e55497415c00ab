"""The idx reader on files written here, and MNIST (synthetic layout and, if present, real)."""

from __future__ import annotations

import gzip
import os
import struct
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from stablenet.data import load_dataset, load_mnist, read_idx, write_idx
from stablenet.errors import ConfigError, DataError


def idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    """Build an idx file by hand (independent of write_idx)."""
    head = bytes([0, 0, code, array.ndim]) + b"".join(struct.pack(">I", s) for s in array.shape)
    return head + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_reads_hand_built_uint8_3d(tmp_path, suffix):
    a = np.random.default_rng(0).integers(0, 256, (4, 3, 5), dtype=np.uint8)
    raw = idx_bytes(a)
    p = tmp_path / f"a-idx3-ubyte{suffix}"
    p.write_bytes(gzip.compress(raw) if suffix else raw)
    b = read_idx(p)
    assert b.dtype == np.uint8 and b.shape == (4, 3, 5) and np.array_equal(a, b)


def test_header_is_big_endian(tmp_path):
    p = tmp_path / "x.idx"
    p.write_bytes(bytes([0, 0, 0x0B, 1, 0, 0, 0, 2, 0x01, 0x02, 0xFF, 0xFE]))  # int16 [258, -2]
    assert read_idx(p).tolist() == [258, -2]


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_write_read_round_trip(tmp_path, dtype, name):
    a = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    write_idx(tmp_path / name, a)
    b = read_idx(tmp_path / name)
    assert b.dtype == a.dtype and np.array_equal(a, b)
    assert (tmp_path / name).read_bytes()[:2] == (b"\x1f\x8b" if name.endswith("gz") else b"\0\0")


GOOD = idx_bytes(np.ones((2, 2, 2), dtype=np.uint8))
CORRUPT = {
    "bad magic": (b"\x08\x03" + GOOD[2:], "magic"),
    "bad type code": (b"\0\0\x07\x03" + GOOD[4:], "magic"),
    "too short": (b"\0\0", "too short"),
    "truncated header": (GOOD[:9], "truncated idx header"),
    "truncated payload": (GOOD[:-1], "truncated idx payload"),
    "oversized payload": (GOOD + b"\0", "oversized idx payload"),
    "zero dims": (b"\0\0\x08\0", "0 dimensions"),
}


@pytest.mark.parametrize("case", list(CORRUPT))
def test_corrupt_files_raise_dataerror_naming_the_file(tmp_path, case):
    raw, words = CORRUPT[case]
    p = tmp_path / f"{case.replace(' ', '_')}.idx"
    p.write_bytes(raw)
    with pytest.raises(DataError, match=words) as info:
        read_idx(p)
    assert str(p) in str(info.value)


def test_gzip_errors(tmp_path):
    bad = tmp_path / "notgzip.gz"
    bad.write_bytes(b"plain bytes, not gzip")
    with pytest.raises(DataError, match="gzip") as info:
        read_idx(bad)
    assert str(bad) in str(info.value)
    cut = tmp_path / "cut.gz"
    cut.write_bytes(gzip.compress(GOOD)[:-6])
    with pytest.raises(DataError, match="gzip"):
        read_idx(cut)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="not found") as info:
        read_idx(tmp_path / "nope.gz")
    assert "nope.gz" in str(info.value)


def fake_mnist(root: Path, folder: str = "MNIST", n=(12, 5), shape=(28, 28), gz=True):
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    ext = ".gz" if gz else ""
    for prefix, count in {"train": n[0], "t10k": n[1]}.items():
        write_idx(
            raw / f"{prefix}-images-idx3-ubyte{ext}",
            rng.integers(0, 256, (count, *shape), dtype=np.uint8),
        )
        write_idx(raw / f"{prefix}-labels-idx1-ubyte{ext}", np.arange(count, dtype=np.uint8) % 10)
    return raw


@pytest.mark.parametrize("gz", [True, False])
def test_load_mnist_layout(tmp_path, gz):
    raw = fake_mnist(tmp_path, gz=gz)
    s = load_mnist(tmp_path)
    assert s.x_train.shape == (12, 1, 28, 28) and s.x_val.shape == (5, 1, 28, 28)
    assert s.x_train.dtype == torch.float32 and 0 <= s.x_train.min() and s.x_train.max() <= 1
    assert s.num_classes == 10 and s.is_image and s.y_val.tolist() == [0, 1, 2, 3, 4]
    ext = ".gz" if gz else ""
    first = read_idx(raw / f"train-images-idx3-ubyte{ext}")[0]
    assert torch.equal(s.x_train[0, 0], torch.from_numpy(first.astype(np.float32) / 255))
    lim = load_mnist(tmp_path, limit_train=3, limit_val=2)
    assert (lim.n_train, lim.n_val) == (3, 2) and torch.equal(lim.x_train, s.x_train[:3])


def test_load_fashion_mnist_and_data_root_env(tmp_path, monkeypatch):
    fake_mnist(tmp_path, folder="FashionMNIST")
    monkeypatch.setenv("STABLENET_DATA", str(tmp_path))
    s = load_dataset("fashion-mnist")
    assert s.name == "fashion-mnist" and s.n_train == 12
    with pytest.raises(DataError, match="MNIST"):  # MNIST itself is not there
        load_dataset("mnist")


def test_missing_mnist_file_says_which_and_how(tmp_path):
    raw = fake_mnist(tmp_path)
    (raw / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError) as info:
        load_mnist(tmp_path)
    msg = str(info.value)
    assert "t10k-labels-idx1-ubyte" in msg and str(raw) in msg and "http" in msg


def test_mnist_mismatched_counts_and_shapes(tmp_path):
    fake_mnist(tmp_path / "a", n=(12, 5))
    write_idx(tmp_path / "a/MNIST/raw/train-labels-idx1-ubyte.gz", np.zeros(11, np.uint8))
    with pytest.raises(DataError, match="12 images but .* 11 labels"):
        load_mnist(tmp_path / "a")
    fake_mnist(tmp_path / "b", shape=(27, 28))
    with pytest.raises(DataError, match=r"\[N, 28, 28\]"):
        load_mnist(tmp_path / "b")


def test_load_mnist_bad_arguments(tmp_path):
    with pytest.raises(ConfigError):
        load_mnist(tmp_path, name="cifar")
    with pytest.raises(ConfigError):
        load_mnist(tmp_path, limit_train=0)


def real_mnist_root() -> Path:
    env = os.environ.get("STABLENET_TEST_MNIST")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "shared/data/mnist"


def test_real_mnist_if_present():
    root = real_mnist_root()
    if not (root / "MNIST/raw/train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"MNIST not found under {root} (set STABLENET_TEST_MNIST)")
    s = load_mnist(root)
    assert (s.n_train, s.n_val) == (60000, 10000)
    assert s.x_train.shape == (60000, 1, 28, 28)
    assert int((s.y_train == 0).sum()) == 5923 and int((s.y_val == 0).sum()) == 980
    assert float(s.x_train.min()) == 0.0 and float(s.x_train.max()) == 1.0


def gzip_bomb(path: Path, header: bytes, payload_mib: int) -> None:
    """A gzip file: ``header`` then ``payload_mib`` MiB of zeros, compressed by streaming."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: the gzip container
    with open(path, "wb") as f:
        f.write(z.compress(header))
        chunk = bytes(1 << 20)
        for _ in range(payload_mib):
            f.write(z.compress(chunk))
        f.write(z.flush())


def test_gzip_bomb_is_stopped_while_streaming(tmp_path):
    """A header declaring 4 x 28 x 28 bytes followed by 64 MiB: refused after reading just
    past the declared size. Peak Python/numpy allocation measured by tracemalloc: about
    0.1 MiB here; the old reader decompressed all 64 MiB first. Asserted: below 8 MiB."""
    p = tmp_path / "train-images-idx3-ubyte.gz"
    gzip_bomb(p, idx_bytes(np.zeros((4, 28, 28), np.uint8)), payload_mib=64)
    assert p.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="oversized idx payload") as info:
            read_idx(p)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(p) in str(info.value) and peak < 8 << 20


def test_declared_size_beyond_what_the_file_can_hold(tmp_path):
    """A 2**31 x 28 x 28 declaration in a small gzip file: refused from the header alone."""
    head = bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 2**31, 28, 28)
    p = tmp_path / "big.gz"
    p.write_bytes(gzip.compress(head + bytes(100)))
    with pytest.raises(DataError, match="more than a .*-byte gzip file can hold"):
        read_idx(p)
    q = tmp_path / "big.idx"  # uncompressed: the file's own size is the bound
    q.write_bytes(head + bytes(100))
    with pytest.raises(DataError, match="truncated idx payload"):
        read_idx(q)


def test_mnist_header_checked_before_the_payload(tmp_path):
    """Wrong image dims are refused from the header (the payload here is a bomb)."""
    raw = fake_mnist(tmp_path)
    gzip_bomb(raw / "train-images-idx3-ubyte.gz",
              idx_bytes(np.zeros((12, 27, 28), np.uint8)), payload_mib=16)
    with pytest.raises(DataError, match=r"shape \[N, 28, 28\], got uint8 \(12, 27, 28\)"):
        load_mnist(tmp_path)
    gzip_bomb(raw / "train-images-idx3-ubyte.gz",
              idx_bytes(np.zeros((12, 28, 28), np.uint8)), payload_mib=16)
    with pytest.raises(DataError, match="oversized idx payload"):
        load_mnist(tmp_path)
