"""Every user mistake gives exit code 2 and a clear message, never a traceback."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch
from cli_assert import expect_error

BASE = ["train", "--dataset", "ellipses", "--depth", "2", "--levels", "1", "--epochs", "1",
        "--limit-train", "40", "--quiet", "--no-plots"]


@pytest.mark.parametrize("flags, message", [
    (["--depth", "0"], "--depth must be positive, got 0"),
    (["--depth", "-3"], "--depth must be positive, got -3"),
    (["--depth", "2.5"], "argument --depth: invalid int value: '2.5'"),
    (["--width", "0"], "--width must be positive"),
    (["--T", "nan"], "--T (the final time) must be finite"),
    (["--T", "inf"], "--T (the final time) must be finite"),
    (["--T", "-1"], "--T (the final time) must be positive"),
    (["--gamma", "-0.1"], "--gamma must be >= 0"),
    (["--lr", "0"], "--lr must be positive"),
    (["--epochs", "0"], "--epochs must be positive"),
    (["--levels", "0"], "--levels must be positive"),
    (["--arch", "transformer"], "argument --arch: invalid choice: 'transformer'"),
    (["--optimizer", "rmsprop"], "argument --optimizer: invalid choice: 'rmsprop'"),
    (["--activation", "gelu"], "argument --activation: invalid choice: 'gelu'"),
    (["--channels", "a,b"], "expected comma-separated integers"),
    (["--arch", "resnet", "--reversible"], "reversible mode needs an exactly invertible"),
    (["--reversible", "--checkpoint", "2"], "two different memory modes"),
    (["--checkpoint", "0"], "--checkpoint 0: the checkpoint segment length"),
    (["--compile", "nonsense"], "unknown torch.compile backend 'nonsense' for --compile"),
    (["--optimizer", "bcd", "--compile"], "--compile does not apply to --optimizer bcd"),
])
def test_bad_flag_values(cli, tmp_path, flags, message):
    expect_error(cli(*BASE, *flags, "--out", tmp_path / "o"), message)


def test_unknown_dataset_and_missing_dataset(cli, tmp_path):
    expect_error(cli("train", "--dataset", "imagenet", "--out", tmp_path), "unknown dataset")
    expect_error(cli("train", "--out", tmp_path), "--dataset is required")


def test_width_smaller_than_the_features(cli, tmp_path, tiny_npz):
    r = cli("train", "--dataset", tiny_npz, "--width", "2", "--out", tmp_path / "o")
    expect_error(r, "width 2 is smaller than the 3 input features", "--opening linear")


@pytest.mark.parametrize("arrays, message", [
    ({"x_train": np.full((4, 2), np.nan), "y_train": [0, 1, 0, 1]}, "contains NaN"),
    ({"x_train": np.ones((4, 2)), "y_train": [0, 1, 0]}, "same length"),
    ({"x_train": np.ones((4, 2)), "y_train": [0, 0, 0, 0]}, "only class 0"),
    ({"x_train": np.ones((4, 2)), "y_train": [0, 1, 0.5, 1]}, "non-integer label"),
    ({"x_train": np.ones((4, 2, 2)), "y_train": [0, 1, 0, 1]}, "expected 2-D"),
    ({"x_val": np.ones((0, 2)), "y_val": np.array([], dtype=int)}, "validation set is empty"),
])
def test_bad_npz_data(cli, tmp_path, arrays, message):
    data = {"x_train": np.ones((4, 2)), "y_train": [0, 1, 0, 1], "x_val": np.ones((2, 2)),
            "y_val": [0, 1], **arrays}
    path = tmp_path / "bad.npz"
    np.savez(path, **{k: np.asarray(v) for k, v in data.items()})
    expect_error(cli(*BASE[:1], "--dataset", path, "--out", tmp_path / "o"), message)


def test_npz_missing_a_key_and_corrupt_files(cli, tmp_path):
    path = tmp_path / "short.npz"
    np.savez(path, x_train=np.ones((4, 2)), y_train=[0, 1, 0, 1])
    expect_error(cli("train", "--dataset", path, "--out", tmp_path / "o"), "missing key(s)",
                 "x_val")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"PK\x03\x04 this is not a zip archive")
    expect_error(cli("train", "--dataset", junk, "--out", tmp_path / "o"), str(junk))
    table = tmp_path / "t.csv"
    table.write_text("a,b,label\n1,x,0\n")
    expect_error(cli("train", "--dataset", table, "--out", tmp_path / "o"), "is not a number")


def test_mnist_missing_and_truncated(cli, tmp_path, fake_mnist):
    expect_error(cli("train", "--dataset", "mnist", "--data-root", tmp_path / "nowhere",
                     "--out", tmp_path / "o"), "file not found")
    images = fake_mnist / "MNIST" / "raw" / "train-images-idx3-ubyte.gz"
    images.write_bytes(gzip.compress(gzip.decompress(images.read_bytes())[:1000]))
    expect_error(cli("train", "--dataset", "mnist", "--data-root", fake_mnist,
                     "--out", tmp_path / "o"), "truncated idx payload", str(images))


def test_unwritable_output_directory(cli, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    expect_error(cli(*BASE, "--out", blocker), "exists and is not a directory")
    expect_error(cli(*BASE, "--out", blocker / "sub"), "cannot write to the output directory")


def test_existing_run_needs_resume_or_overwrite(cli, tmp_path):
    assert cli(*BASE, "--out", tmp_path).code == 0
    expect_error(cli(*BASE, "--out", tmp_path), "already holds a training run",
                 f"--resume {tmp_path}")
    assert cli(*BASE, "--out", tmp_path, "--overwrite").code == 0


def test_resume_errors(cli, tmp_path):
    expect_error(cli("train", "--resume", tmp_path / "empty"), "no checkpoint at")
    run = tmp_path / "run"
    assert cli(*BASE, "--out", run).code == 0
    expect_error(cli("train", "--resume", run, "--arch", "resnet"),
                 "--arch 'hamiltonian' but --arch 'resnet' was given")
    expect_error(cli("train", "--resume", run, "--out", tmp_path / "elsewhere"), "differ")
    ckpt = run / "checkpoint.pt"
    raw = ckpt.read_bytes()
    ckpt.write_bytes(raw[: len(raw) // 3])
    expect_error(cli("train", "--resume", run), "corrupt, truncated or foreign", str(ckpt))
    torch.save({"state_dict": {}}, ckpt)
    expect_error(cli("train", "--resume", run), "not a stablenet training checkpoint")


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_requested_without_cuda(cli, tmp_path):
    expect_error(cli(*BASE, "--device", "cuda", "--out", tmp_path), "CUDA is not available")
