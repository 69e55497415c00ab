"""Where outputs go: an empty --out, an --out that is a file, a full disk, and models that
cannot be analysed give exit code 2 and a message naming the problem and the fix."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch
from cli_assert import expect_error

import stablenet

TRAIN = ["train", "--dataset", "ellipses", "--depth", "2", "--epochs", "1", "--limit-train",
         "40", "--quiet", "--no-plots"]


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "m.pt"
    stablenet.save(stablenet.build_model("hamiltonian", (2,), 2, 4, 3, 1.0), path)
    return path


def commands(tmp_path, model_file, out):
    data = tmp_path / "x.csv"
    data.write_text("a,b\n0.1,0.2\n")
    return {
        "train": [*TRAIN, "--out", out],
        "analyze": ["analyze", model_file, "--no-figures", "--out", out],
        "depth-sweep": ["depth-sweep", "--quick", "--archs", "resnet", "--regimes",
                        "identity", "--no-figures", "--out", out],
        "depth-study": ["depth-study", "--problems", "swissroll", "--archs", "resnet",
                        "--depths", "4", "--tables", "fixed-T", "--epochs", "1", "--no-plots",
                        "--quiet", "--out", out],
        "reproduce": ["reproduce", "--no-mnist", "--no-plots", "--quiet", "--problems",
                      "swissroll", "--archs", "resnet", "--out", out],
        "predict": ["predict", model_file, data, "--out", out],
    }


@pytest.mark.parametrize("command", ["train", "analyze", "depth-sweep", "depth-study",
                                     "reproduce", "predict"])
def test_an_empty_out_is_refused(cli, tmp_path, model_file, command, monkeypatch):
    monkeypatch.chdir(tmp_path)  # what an empty name would have written into
    before = sorted(p.name for p in tmp_path.iterdir())
    r = cli(*commands(tmp_path, model_file, "")[command])
    expect_error(r, "argument --out: the path is empty (an unset shell variable?)")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before + ["x.csv"])


def test_an_empty_resume_is_refused(cli):
    expect_error(cli("train", "--resume", ""), "argument --resume: the path is empty")


@pytest.mark.parametrize("command", ["train", "analyze", "depth-sweep", "depth-study",
                                     "reproduce"])
def test_an_out_that_is_a_file_is_refused(cli, tmp_path, model_file, command):
    blocker = tmp_path / "a-file"
    blocker.write_text("keep me")
    expect_error(cli(*commands(tmp_path, model_file, blocker)[command]),
                 "exists and is not a directory", "--out")
    assert blocker.read_text() == "keep me"


def test_predict_into_a_file_s_folder_is_refused(cli, tmp_path, model_file):
    blocker = tmp_path / "a-file"
    blocker.write_text("keep me")
    expect_error(cli(*commands(tmp_path, model_file, blocker / "p.csv")["predict"]),
                 "does not exist")


@pytest.mark.parametrize("tensor, value", [("blocks.0.K", math.nan), ("blocks.0.K", math.inf),
                                           ("classifier.weight", math.nan)])
def test_analyze_refuses_non_finite_weights(cli, tmp_path, tensor, value):
    model = stablenet.build_model("hamiltonian", (2,), 2, 4, 3, 1.0)
    with torch.no_grad():
        dict(model.named_parameters())[tensor].view(-1)[0] = value
    stablenet.save(model, tmp_path / "bad.pt")
    r = cli("analyze", tmp_path / "bad.pt", "--data", "swissroll", "--out", tmp_path / "r")
    expect_error(r, f"the weights are not finite: the tensor '{tensor}'", "retrain")
    assert not (tmp_path / "r" / "report.md").exists()


@pytest.mark.parametrize("value", ["-5", "0", "nan", "inf"])
def test_analyze_threshold_is_checked(cli, tmp_path, model_file, value):
    expect_error(cli("analyze", model_file, "--threshold", value, "--out", tmp_path / "r"),
                 "--threshold must be", value)


def test_analyze_refuses_a_single_block_file(cli, tmp_path):
    stablenet.save(stablenet.HamiltonianNet(4, 3, 1.0), tmp_path / "block.pt")
    expect_error(cli("analyze", tmp_path / "block.pt", "--out", tmp_path / "r"),
                 "holds a single block")


def test_analyze_on_a_full_disk(cli, tmp_path, model_file, full_disk):
    full_disk(0)
    r = cli("analyze", model_file, "--no-figures", "--out", tmp_path / "r")
    expect_error(r, "cannot write", "report.md", "No space left on device", "free disk space")
    assert not (tmp_path / "r" / "report.md").exists()


def test_depth_sweep_reports_overflow_instead_of_crashing(cli, tmp_path):
    """h = 1e30 is far outside every stability region: the growth overflows float64; the
    sweep records inf and says so (the sweep measures growth, so this is a result)."""
    r = cli("depth-sweep", "--quick", "--archs", "resnet,hamiltonian", "--regimes", "identity",
            "--no-figures", "--h", "1e30", "--out", tmp_path / "s")
    assert r.code == 0 and "Traceback" not in r.err, r.err
    assert "overflow float64" in r.err
    report = (tmp_path / "s" / "depth_sweep.md").read_text()
    assert "overflow float64" in report and "| inf |" in report


def test_a_run_s_outputs_honour_the_umask(cli, tmp_path):
    """mkstemp makes 0600 files; every output of a run gets 0666 less the umask."""
    pytest.importorskip("matplotlib")
    old = os.umask(0o027)
    try:
        assert cli(*TRAIN[:-1], "--out", tmp_path / "run").code == 0
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"model.pt", "metrics.json", "checkpoint.pt", "curves.png"} <= names
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in files} == {n: "0o640" for n in names}


def test_figures_on_a_full_disk(cli, tmp_path, full_disk):
    pytest.importorskip("matplotlib")
    assert cli(*TRAIN, "--out", tmp_path / "run").code == 0
    full_disk(0)
    r = cli("plot", tmp_path / "run")
    expect_error(r, "cannot write", "curves.png: No space left on device", "free disk space")


def test_depth_sweep_refuses_a_width_that_cannot_fit(cli, tmp_path):
    r = cli("depth-sweep", "--width", "100000", "--out", tmp_path / "s")
    expect_error(r, "needs at least", "TB of memory", "--width")
    assert not (tmp_path / "s").exists()


def test_every_command_shows_warnings_as_one_plain_line(cli, tmp_path):
    """A loader's note under `analyze` (here: an .npz of one set x, y, split at random) is
    one `stablenet: warning:` line, without Python's file, line and source."""
    stablenet.save(stablenet.build_model("hamiltonian", (3,), 3, 4, 3, 1.0), tmp_path / "m.pt")
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.normal(size=(30, 3)), y=np.arange(30) % 3)
    r = cli("analyze", tmp_path / "m.pt", "--data", tmp_path / "d.npz", "--no-figures",
            "--out", tmp_path / "r")
    assert r.code == 0, r.err
    notes = [line for line in r.err.splitlines() if "drawn at random" in line]
    assert len(notes) == 1 and notes[0].startswith("stablenet: warning: ")
    assert "DataWarning" not in r.err and "loader(" not in r.err
