"""``stablenet train --config FILE``: the settings file that ``--dry-run`` prints reads back
to the identical resolved config; flags override the file; bad files exit 2."""

from __future__ import annotations

try:
    import tomllib
except ImportError:  # Python 3.10: the backport (stablenet[test] installs it there)
    import tomli as tomllib

import pytest

from stablenet.train import TrainConfig, resolve
from stablenet.train.config import options_from_file


def dry_run(cli, *argv):
    r = cli("train", "--dry-run", *argv)
    assert r.code == 0, r.err
    return r.out


@pytest.mark.parametrize("argv", [
    ("--dataset", "peaks"),
    ("--dataset", "swissroll", "--arch", "leapfrog", "--levels", "3", "--epochs", "4,2,1",
     "--T", "3.3", "--alpha", "1e-7", "--checkpoint", "4", "--lr", "0.3",
     "--optimizer", "adam", "--limit-train", "50"),
    ("--dataset", "ellipses", "--reversible", "--dtype", "float64", "--seed", "7",
     "--max-grad-norm", "12.5", "--bias", "feature"),
], ids=["defaults", "lists-and-memory", "reversible"])
def test_dry_run_file_reads_back_to_the_identical_config(cli, tmp_path, argv):
    first = dry_run(cli, *argv, "--out", tmp_path / "run")
    path = tmp_path / "exp.toml"
    path.write_text(first)
    second = dry_run(cli, "--config", path, "--out", tmp_path / "run")
    assert second == first
    resolved = tomllib.loads(first)
    config = TrainConfig.from_file(path)
    assert config.to_dict() == TrainConfig(**resolved).to_dict()
    # the file is the resolved config: resolving it again changes nothing
    assert resolve(config, False, 2).to_dict() == config.to_dict()


def test_user_csv_dry_run_round_trip(cli, tmp_path, tiny_csv):
    first = dry_run(cli, "--dataset", tiny_csv, "--out", tmp_path / "run")
    (tmp_path / "exp.toml").write_text(first)
    assert dry_run(cli, "--config", tmp_path / "exp.toml", "--out", tmp_path / "run") == first
    assert tomllib.loads(first)["standardize"] == "features"


def test_flags_override_the_file(cli, tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text('dataset = "peaks"\ndepth = 8\nmemory = "checkpoint"\n'
                    'checkpoint_segment = 2\nepochs = 3\n')
    out = tomllib.loads(dry_run(cli, "--config", path, "--depth", "16", "--reversible",
                                "--out", tmp_path / "run"))
    assert (out["depth"], out["epochs"]) == (16, 3)
    assert out["memory"] == {"mode": "reversible", "drift_tol": 1e-3}
    assert "checkpoint_segment" not in out  # the flag's memory mode replaces the file's
    # a file of the earlier code (a name + checkpoint_segment) and one of today's (a table)
    assert tomllib.loads(dry_run(cli, "--config", path, "--out", tmp_path / "run"))[
        "memory"] == {"mode": "checkpoint", "every": 2}
    path.write_text('dataset = "peaks"\nmemory = {mode = "checkpoint", every = 5}\n')
    assert TrainConfig.from_file(path).memory == {"mode": "checkpoint", "every": 5}


def test_json_config_and_python_api(tmp_path):
    path = tmp_path / "exp.json"
    path.write_text('{"dataset": "swissroll", "depth": 12}')
    assert options_from_file(path) == {"dataset": "swissroll", "depth": 12}
    assert TrainConfig.from_file(path, depth=4).depth == 4


@pytest.mark.parametrize("text, message", [
    ('dataset = "peaks"\ndepht = 8\n', "unknown training option(s) ['depht']"),
    ('dataset = "peaks"\ndepth = 0\n', "--depth"),
    ('dataset = "peaks"\narch = "resnett"\n', "resnett"),
    ("depth = 8\n", "--dataset is required"),
])
def test_bad_settings_files_exit_2(cli, tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    r = cli("train", "--config", path, "--dry-run", "--out", tmp_path / "run")
    assert r.code == 2 and message in r.err and "Traceback" not in r.err


def test_config_with_resume_exits_2(cli, tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text('dataset = "peaks"\n')
    r = cli("train", "--resume", tmp_path / "run", "--config", path)
    assert r.code == 2 and "--config applies to a new run" in r.err
