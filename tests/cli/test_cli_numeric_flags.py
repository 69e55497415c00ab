"""Every numeric flag of every command: a bad value exits with code 2 and a message that
names the flag (the value is checked in one place per command: `stablenet.train.check`
for train and reproduce, the command's own check for analyze and depth-sweep)."""

from __future__ import annotations

import pytest

import stablenet

TRAIN = ["train", "--dataset", "ellipses", "--depth", "2", "--levels", "1", "--epochs", "1",
         "--limit-train", "40", "--quiet", "--no-plots"]


def expect_flag_error(result, flag: str, value: str) -> None:
    """Exit code 2, no traceback, the flag and the bad value (or list entry) named."""
    assert result.code == 2, (result.code, result.err)
    assert "Traceback" not in result.err
    shown = {"16,0": "got 0", "8,0": "got 0"}.get(value, value)
    assert flag in result.err and shown in result.err, result.err


@pytest.mark.parametrize("flag, value", [
    ("--width", "0"), ("--depth", "0"), ("--depth", "-3"), ("--levels", "0"),
    ("--epochs", "0"), ("--limit-train", "0"), ("--limit-val", "-1"), ("--batch-size", "-1"),
    ("--seed", "-1"), ("--threads", "-2"), ("--checkpoint", "0"), ("--T", "0"), ("--T", "nan"),
    ("--lr", "0"), ("--lr", "-0.001"), ("--max-grad-norm", "0"), ("--alpha", "-1"),
    ("--alpha", "inf"), ("--beta", "-1"), ("--gamma", "-0.1"), ("--momentum", "-0.5"),
    ("--momentum", "1"), ("--channels", "16,0"),
])
def test_train_numeric_flag_named(cli, tmp_path, flag, value):
    expect_flag_error(cli(*TRAIN, flag, value, "--out", tmp_path / "o"), flag, value)
    assert not (tmp_path / "o" / "checkpoint.pt").exists()


@pytest.mark.parametrize("flag, value", [("--epochs", "0"), ("--seed", "-1")])
def test_reproduce_numeric_flag_named(cli, tmp_path, flag, value):
    r = cli("reproduce", "--no-mnist", "--no-plots", "--quiet", "--problems", "swissroll",
            "--archs", "resnet", flag, value, "--out", tmp_path)
    expect_flag_error(r, flag, value)


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "m.pt"
    stablenet.save(stablenet.build_model("hamiltonian", (2,), 2, 4, 3, 1.0), path)
    return path


@pytest.mark.parametrize("flag, value", [
    ("--samples", "0"), ("--spectra-samples", "0"), ("--image-size", "-4"),
    ("--threshold", "0"), ("--threshold", "nan"), ("--seed", "-1"),
])
def test_analyze_numeric_flag_named(cli, tmp_path, model_file, flag, value):
    r = cli("analyze", model_file, "--out", tmp_path / "report", flag, value)
    expect_flag_error(r, flag, value)
    assert not (tmp_path / "report").exists()


@pytest.mark.parametrize("flag, value", [
    ("--depths", "8,0"), ("--h", "0"), ("--h", "-0.1"), ("--width", "0"), ("--seeds", "0"),
    ("--samples", "0"),
])
def test_depth_sweep_numeric_flag_named(cli, tmp_path, flag, value):
    r = cli("depth-sweep", "--quick", "--no-figures", "--out", tmp_path / "sweep", flag, value)
    expect_flag_error(r, flag, value)
    assert not (tmp_path / "sweep").exists()


@pytest.mark.parametrize("command, flag", [
    (TRAIN, "--depth"), (TRAIN, "--lr"), (["depth-sweep", "--quick"], "--h"),
])
def test_unparsable_number_is_refused_by_the_parser(cli, tmp_path, command, flag):
    r = cli(*command, flag, "many", "--out", tmp_path / "o")
    expect_flag_error(r, f"argument {flag}", "'many'")


@pytest.mark.parametrize("flag, value", [
    ("--depths", "8,0"), ("--T", "0"), ("--T", "nan"), ("--h", "-0.5"), ("--epochs", "0"),
    ("--seed", "-1"),
])
def test_depth_study_numeric_flag_named(cli, tmp_path, flag, value):
    r = cli("depth-study", "--problems", "swissroll", "--archs", "resnet", "--depths", "4",
            "--tables", "fixed-T", "--no-plots", "--quiet", "--out", tmp_path / "s",
            flag, value)
    expect_flag_error(r, flag, value)


def test_predict_batch_size_named(cli, tmp_path, model_file):
    data = tmp_path / "x.csv"
    data.write_text("a,b\n0.1,0.2\n")
    r = cli("predict", model_file, data, "--out", tmp_path / "p.csv", "--batch-size", "0")
    expect_flag_error(r, "--batch-size", "0")
