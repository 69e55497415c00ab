"""``stablenet reproduce`` from grid files: the shipped configs are the paper's grid, a
``--dry-run`` grid reads back to the same runs, ``--seeds`` gives mean and spread."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from stablenet.cli import build_parser
from stablenet.cli.reproduce import packaged_grid, resolved_grid
from stablenet.registry import ARCHITECTURES
from stablenet.train.defaults import PAPER_PROBLEMS
from stablenet.train.grid import read_grid
from stablenet.train.grid_report import spread

REPO = Path(__file__).resolve().parents[2]


def args_of(*argv):
    return build_parser().parse_args(["reproduce", *map(str, argv)])


def test_shipped_grid_is_the_papers():
    grid = read_grid(packaged_grid())
    names = [f"{p}-{a}" for p in PAPER_PROBLEMS for a in ARCHITECTURES] + ["mnist-hamiltonian"]
    assert [r.name for r in grid.runs] == names and grid.seeds == [0]
    for run in grid.runs[:-1]:
        assert run.options == dict(zip(("dataset", "arch"), run.name.split("-"), strict=True))
    assert grid.runs[-1].options == {"dataset": "mnist", "arch": "hamiltonian", "threads": 1}
    quick = read_grid(packaged_grid(quick=True))
    assert [r.name for r in quick.runs] == names
    assert all(r.options["epochs"] == 10 for r in quick.runs[:-1])
    assert quick.runs[-1].options == {"dataset": "mnist", "arch": "hamiltonian", "threads": 1,
                                      "epochs": 1, "channels": [8, 16, 32],
                                      "limit_train": 20000, "limit_val": 2000}
    # the package's copy is the repository's configs/ folder
    assert packaged_grid().resolve() == (REPO / "configs" / "reproduce.toml").resolve()


@pytest.mark.parametrize("argv", [
    (),
    ("--quick", "--problems", "peaks", "--archs", "leapfrog,resnet", "--seeds", "0,1,2,3,4"),
    ("--no-mnist", "--epochs", "3", "--data-root", "somewhere", "--seed", "4"),
], ids=["paper", "quick-subset-seeds", "overrides"])
def test_dry_run_grid_reads_back_to_the_same_runs(cli, tmp_path, argv):
    r = cli("reproduce", *argv, "--dry-run")
    assert r.code == 0, r.err
    path = tmp_path / "grid.toml"
    path.write_text(r.out)
    first, second = resolved_grid(args_of(*argv)), resolved_grid(args_of("--config", path))
    assert second.runs == first.runs and second.seeds == first.seeds
    settings = lambda text: [ln for ln in text.splitlines() if not ln.startswith("#")]  # noqa: E731
    assert settings(cli("reproduce", "--config", path, "--dry-run").out) == settings(r.out)


def test_seeds_give_mean_and_spread_per_row(cli, tmp_path):
    (tmp_path / "one.toml").write_text('dataset = "ellipses"\ndepth = 2\nT = 2.0\n')
    (tmp_path / "grid.toml").write_text(
        'seeds = [3, 4, 5]\n[options]\nepochs = 2\nlimit_train = 80\nlimit_val = 40\n'
        '[[runs]]\nconfig = "one.toml"\narch = "antisymmetric"\n'
        '[[runs]]\nname = "second"\nconfig = "one.toml"\noptimizer = "adam"\n')
    out = tmp_path / "results"
    r = cli("reproduce", "--config", tmp_path / "grid.toml", "--no-plots", "--quiet",
            "--out", out)
    assert r.code == 0, r.err
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert [row["name"] for row in rows] == ["ellipses-antisymmetric", "second"]
    for row in rows:
        runs = [json.loads((out / row["name"] / f"seed-{s}" / "metrics.json").read_text())
                for s in (3, 4, 5)]
        assert [m["config"]["seed"] for m in runs] == [3, 4, 5]
        val = [m["best_val_accuracy"] for m in runs]
        assert row["val_accuracy"]["mean"] == pytest.approx(statistics.mean(val))
        assert row["val_accuracy"]["std"] == pytest.approx(statistics.stdev(val))
        assert (row["val_accuracy"]["min"], row["val_accuracy"]["max"]) == (min(val), max(val))
    table = (out / "results.md").read_text()
    assert "Seeds: 3, 4, 5" in table and "| ellipses | antisymmetric | 2 (1) |" in table
    rows_md = [ln for ln in table.splitlines() if ln.startswith("| ellipses")]
    assert [ln.count(" ± ") for ln in rows_md] == [3, 3]  # train, val accuracy and time
    assert read_grid(out / "grid.toml").runs == resolved_grid(
        args_of("--config", tmp_path / "grid.toml")).runs


def test_spread_of_one_and_several_values():
    assert spread([0.5]) == {"mean": 0.5, "std": 0.0, "min": 0.5, "max": 0.5, "n": 1}
    s = spread([0.9, 0.95, 1.0, 0.8])
    assert s["std"] == pytest.approx(statistics.stdev([0.9, 0.95, 1.0, 0.8]))


@pytest.mark.parametrize("text, message", [
    ("seeds = [0]\n", "lists no runs"),
    ('[[runs]]\ndataset = "peaks"\ndepht = 3\n', "unknown training option(s) ['depht']"),
    ('[[runs]]\ndataset = "peaks"\n[[runs]]\ndataset = "peaks"\n', "two runs are named"),
    ('[[runs]]\nconfig = "absent.toml"\n', "cannot read the settings file"),
    ('[[runs]]\narch = "resnet"\n', "names no dataset"),
    ('seeds = [1, 1]\n[[runs]]\ndataset = "peaks"\n', "lists a seed twice"),
    ('grid = 1\n[[runs]]\ndataset = "peaks"\n', "unknown grid setting(s) ['grid']"),
])
def test_bad_grid_files_exit_2(cli, tmp_path, text, message):
    path = tmp_path / "grid.toml"
    path.write_text(text)
    r = cli("reproduce", "--config", path, "--dry-run")
    assert r.code == 2 and message in r.err and "Traceback" not in r.err


def test_quick_and_config_together_exit_2(cli, tmp_path):
    r = cli("reproduce", "--quick", "--config", packaged_grid(), "--dry-run")
    assert r.code == 2 and "--quick" in r.err
