"""The depth study: the weight distance between depths N and 4N, the runs it trains, and
its report (tables with a column per depth, figures that say what was not measured)."""

from __future__ import annotations

import math

import pytest
import torch

from stablenet import build_model
from stablenet.train import depth_study
from stablenet.train.depth_report import figures, markdown
from stablenet.train.depth_study import run_study, weight_distance
from stablenet.train.divergence import DivergenceError


def _pair(seed=0):
    torch.manual_seed(seed)
    coarse = build_model("hamiltonian", (2,), 2, 4, 4, 10.0)
    fine = build_model("hamiltonian", (2,), 2, 4, 16, 10.0)
    with torch.no_grad():  # the fine network agrees with the coarse one at t_j = j T / 4
        fine.blocks[0].K[::4] = coarse.blocks[0].K
        fine.blocks[0].b[::4] = coarse.blocks[0].b
    return coarse, fine


def test_weight_distance_is_the_relative_l2_distance_at_the_coarse_times():
    coarse, fine = _pair()
    assert weight_distance(coarse, fine) == 0.0  # the other fine layers do not count
    with torch.no_grad():
        fine.blocks[0].K[1:4] += 7.0
        delta = torch.zeros_like(coarse.blocks[0].K)
        delta[2, 0, 1] = 0.5
        coarse.blocks[0].K += delta
    K, b = fine.blocks[0].K.detach()[::4].double(), fine.blocks[0].b.detach()[::4].double()
    expected = 0.5 / math.sqrt(float(K.pow(2).sum() + b.pow(2).sum()))
    assert weight_distance(coarse, fine) == pytest.approx(expected, rel=1e-12)


@pytest.mark.filterwarnings("ignore:block 0:RuntimeWarning")  # N = 2: h = 2, on purpose tiny
def test_study_runs_both_tables_and_fills_the_4n_distance(tmp_path):
    options = dict(epochs=1, limit_train=40, seed=0)
    runs = run_study(["swissroll"], ["hamiltonian"], [2, 8], ["fixed-T", "fixed-h"], T=4.0,
                     h=0.5, options=options, out=tmp_path)
    got = {(r.table, r.depth): r for r in runs}
    assert sorted(got) == [("fixed-T", 2), ("fixed-T", 8), ("fixed-h", 2), ("fixed-h", 8)]
    assert got["fixed-T", 2].T == got["fixed-T", 8].T == 4.0
    assert (got["fixed-h", 2].T, got["fixed-h", 8].T) == (1.0, 4.0)  # T = N h
    d = got["fixed-T", 2].distance_to_4n
    assert d is not None and 0.0 < d < math.inf  # two different trainings
    assert got["fixed-T", 8].distance_to_4n is None and got["fixed-h", 2].distance_to_4n is None
    for r in runs:
        assert 0.0 <= r.val_accuracy <= 1.0 and 0.0 < r.gradient_ratio < math.inf
        assert r.model is None  # released after the study
    assert (tmp_path / "fixed-T" / "swissroll-hamiltonian-N8" / "model.pt").is_file()


def test_report_marks_missing_cells_and_draws_every_table(tmp_path):
    rows = [dict(table="fixed-T", problem="peaks", arch="leapfrog", depth=n, T=10.0,
                 val_accuracy=0.9, train_accuracy=0.95, seconds=1.5, gradient_ratio=3.0,
                 distance_to_4n=None) for n in (16, 64)]
    rows.append({**rows[0], "arch": "resnet", "depth": 64, "val_accuracy": 0.5})
    text = markdown(rows)
    assert "| peaks | leapfrog | 90.0% | 90.0% |" in text
    assert "| peaks | resnet | - | 50.0% |" in text  # N=16 not run
    assert "| peaks | leapfrog | - | - |" in text  # no distance measured
    paths = figures(rows, tmp_path)
    assert [p.name for p in paths] == ["depth_study_fixed-T.png"] and paths[0].stat().st_size


@pytest.mark.filterwarnings("ignore:block 0:RuntimeWarning")  # N = 2: h = 2, on purpose tiny
def test_a_diverging_run_is_a_result_and_the_study_goes_on(tmp_path, monkeypatch):
    """A run whose training diverges (here: the deeper ResNet, made to) is recorded with the
    reason and no accuracy; the other runs, and the report, go on."""
    real = depth_study.train

    def train(config, *a, **kw):
        if config.arch == "resnet" and config.depth == 8:
            raise DivergenceError("training diverged at level 1/1 (depth 8), epoch 1, step 1: "
                                  "the gradient norm is inf; the largest weight gradient ...")
        return real(config, *a, **kw)

    monkeypatch.setattr(depth_study, "train", train)
    runs = run_study(["swissroll"], ["resnet", "hamiltonian"], [2, 8], ["fixed-T"], T=4.0,
                     h=0.5, options=dict(epochs=1, limit_train=40, seed=0), out=tmp_path)
    got = {(r.arch, r.depth): r for r in runs}
    deep = got["resnet", 8]
    assert deep.diverged == "the gradient norm is inf"
    assert deep.val_accuracy is None and deep.gradient_ratio is None
    assert got["resnet", 2].distance_to_4n is None  # no distance to a diverged run
    assert got["hamiltonian", 2].distance_to_4n is not None
    assert got["hamiltonian", 8].val_accuracy is not None
    text = markdown([r.row() for r in runs])
    assert "| swissroll | resnet | " in text and "| diverged |" in text
