"""``stablenet train --autocast bf16 / --channels-last / --cuda-graphs``: the flags reach
the config and survive the ``--dry-run`` / ``--config`` round trip; what cannot apply
exits 2 with a message naming the fix, never a traceback."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from cli_assert import expect_error

BASE = ["train", "--depth", "2", "--levels", "1", "--epochs", "1", "--limit-train", "40",
        "--quiet", "--no-plots"]


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "images.npz"
    np.savez(path, x_train=rng.standard_normal((24, 1, 8, 8)), y_train=np.arange(24) % 3,
             x_val=rng.standard_normal((6, 1, 8, 8)), y_val=np.arange(6) % 3)
    return path


@pytest.mark.parametrize("flags, fragments", [
    (["--cuda-graphs"], ["--cuda-graphs", "needs a GPU: add --device cuda"]),
    (["--cuda-graphs", "--compile", "aot_eager"], ["needs a GPU: add --device cuda"]),
    (["--channels-last"], ["--channels-last is a memory format of images", "ellipses"]),
    (["--autocast", "bf16", "--dtype", "float64"], ["use --dtype float32 with --autocast"]),
    (["--autocast", "bf16", "--optimizer", "bcd"], ["--autocast does not apply to"]),
    (["--autocast", "fp16"], ["argument --autocast: invalid choice: 'fp16'"]),
])
def test_refusals_exit_2_with_the_fix(cli, tmp_path, flags, fragments):
    expect_error(cli(*BASE, "--dataset", "ellipses", *flags, "--out", tmp_path / "o"),
                 *fragments)


def test_cuda_graphs_on_a_machine_without_cuda(cli, tmp_path):
    r = cli(*BASE, "--dataset", "ellipses", "--cuda-graphs", "--device", "cuda", "--out",
            tmp_path / "o")
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    expect_error(r, "CUDA is not available")


def test_dry_run_round_trip_keeps_the_speed_options(cli, tmp_path, images):
    r = cli(*BASE[:-2], "--dataset", images, "--autocast", "bf16", "--channels-last",
            "--dry-run")  # (without --quiet, which hides the printed settings)
    assert r.code == 0, r.err
    assert 'autocast = "bf16"' in r.out and "channels_last = true" in r.out
    assert "cuda_graphs = false" in r.out
    path = tmp_path / "settings.toml"
    path.write_text(r.out)
    again = cli("train", "--config", path, "--dry-run")
    assert again.code == 0, again.err
    keep = [line for line in r.out.splitlines() if not line.startswith("#")]
    assert [line for line in again.out.splitlines() if not line.startswith("#")] == keep


def test_a_run_with_the_cpu_options_records_them(cli, tmp_path, images):
    out = tmp_path / "o"
    r = cli(*BASE, "--dataset", images, "--autocast", "bf16", "--channels-last", "--out", out)
    assert r.code == 0, r.err
    text = (out / "config.toml").read_text()
    assert 'autocast = "bf16"' in text and "channels_last = true" in text
