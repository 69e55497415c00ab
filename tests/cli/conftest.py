"""Fixtures of the CLI tests: running ``stablenet`` in-process and tiny data files."""

from __future__ import annotations

import numpy as np
import pytest

from stablenet.cli import main
from stablenet.data import write_idx


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err


@pytest.fixture
def cli(capsys):
    """``cli(*argv)`` runs ``stablenet argv`` in this process; returns code, out, err."""

    def run(*argv: str) -> Result:
        capsys.readouterr()
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse errors and --help
            code = exc.code if isinstance(exc.code, int) else 1
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def tiny_npz(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "tiny.npz"
    np.savez(path, x_train=rng.normal(size=(40, 3)).astype(np.float32),
             y_train=np.arange(40) % 3, x_val=rng.normal(size=(12, 3)).astype(np.float32),
             y_val=np.arange(12) % 3)
    return path


@pytest.fixture
def tiny_csv(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "tiny.csv"
    rows = ["a,b,label"] + [f"{x:.4f},{y:.4f},{int(x > y)}" for x, y in rng.normal(size=(30, 2))]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture
def fake_mnist(tmp_path):
    """ROOT with MNIST/raw/*.gz: 60 training and 20 test images of 28 x 28."""
    rng = np.random.default_rng(2)
    raw = tmp_path / "mnistroot" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, n in (("train", 60), ("t10k", 20)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte.gz",
                  rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte.gz", (np.arange(n) % 10).astype(np.uint8))
    return tmp_path / "mnistroot"
