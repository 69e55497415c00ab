"""``stablenet train`` on every dataset kind, its outputs, resume, and ``stablenet plot``."""

from __future__ import annotations

import json
import math

try:
    import tomllib
except ImportError:  # Python 3.10: the backport (stablenet[test] installs it there)
    import tomli as tomllib

import pytest
import torch

import stablenet
from stablenet.memory import Checkpoint
from stablenet.train.defaults import DEFAULTS_2D

TINY = ["--depth", "2", "--levels", "1", "--epochs", "1", "--quiet"]


def check_metrics(out, dataset: str) -> dict:
    m = json.loads((out / "metrics.json").read_text())
    for key in ("train_accuracy", "val_accuracy", "best_val_accuracy", "best_train_accuracy"):
        assert 0.0 <= m[key] <= 1.0
    assert math.isfinite(m["final_loss"]) and m["final_loss"] > 0 and m["seconds"] > 0
    assert m["n_parameters"] > 0 and m["config"]["dataset"] == dataset
    assert len([r for r in m["history"] if r["epoch"] > 0]) == m["config"]["epochs"]
    model = stablenet.load(out / "model.pt")
    assert sum(p.numel() for p in model.parameters()) == m["n_parameters"]
    return m


@pytest.mark.parametrize("dataset", ["ellipses", "swissroll", "peaks"])
def test_paper_problems(cli, tmp_path, dataset):
    r = cli("train", "--dataset", dataset, *TINY, "--limit-train", "100", "--no-plots",
            "--out", tmp_path)
    assert r.code == 0, r.err
    check_metrics(tmp_path, dataset)


def test_npz_and_csv(cli, tmp_path, tiny_npz, tiny_csv):
    r = cli("train", "--dataset", tiny_npz, *TINY, "--out", tmp_path / "npz")
    assert r.code == 0, r.err
    m = check_metrics(tmp_path / "npz", str(tiny_npz))
    assert m["model_config"]["num_classes"] == 3 and m["config"]["width"] == 32  # max(32, 3)
    assert (tmp_path / "npz" / "figures" / "trajectories.png").is_file()
    assert not (tmp_path / "npz" / "figures" / "decision_regions.png").exists()  # 3 features
    r = cli("train", "--dataset", tiny_csv, *TINY, "--no-plots", "--out", tmp_path / "csv")
    assert r.code == 0, r.err
    check_metrics(tmp_path / "csv", str(tiny_csv))


def test_mnist_from_an_idx_tree(cli, tmp_path, fake_mnist):
    out = tmp_path / "mnist"
    r = cli("train", "--dataset", "mnist", "--data-root", fake_mnist, "--channels", "4,8",
            "--depth", "1", "--epochs", "1", "--batch-size", "20", "--quiet", "--out", out)
    assert r.code == 0, r.err
    m = check_metrics(out, "mnist")
    assert m["model_config"]["input_shape"] == [1, 28, 28] and m["n_train"] == 60
    assert (out / "figures" / "misclassified.png").is_file()


def test_outputs_are_announced_and_plot_redraws(cli, tmp_path):
    out = tmp_path / "run"
    r = cli("train", "--dataset", "ellipses", "--depth", "2", "--levels", "2", "--epochs", "2",
            "--limit-train", "80", "--out", out)
    assert r.code == 0, r.err
    assert "model.pt" in r.out and "metrics.json" in r.out and "figures in" in r.out
    names = {p.name for p in (out / "figures").iterdir()}
    assert names == {"curves.png", "decision_regions.png", "trajectories.png"}
    for p in (out / "figures").iterdir():
        p.unlink()
    r = cli("plot", out)
    assert r.code == 0 and r.out.count("wrote") == 3
    assert len(list((out / "figures").iterdir())) == 3


def test_plot_of_a_directory_without_a_run(cli, tmp_path):
    r = cli("plot", tmp_path)
    assert r.code == 2 and "holds no metrics.json" in r.err and "Traceback" not in r.err


def test_dry_run_prints_the_resolved_config(cli, tmp_path):
    r = cli("train", "--dataset", "peaks", "--dry-run", "--out", tmp_path / "x")
    assert r.code == 0
    config = tomllib.loads(r.out)  # a settings file that --config reads back
    assert config["T"] == DEFAULTS_2D["T"] and config["optimizer"] == "lbfgs"
    assert not (tmp_path / "x" / "metrics.json").exists()


def final_weights(out):
    return torch.load(out / "checkpoint.pt", weights_only=True)["model"]


def test_interrupt_and_resume_give_the_uninterrupted_weights(cli, tmp_path):
    args = ["train", "--dataset", "ellipses", "--depth", "2", "--levels", "2", "--epochs", "3",
            "--optimizer", "adam", "--batch-size", "32", "--limit-train", "96", "--quiet"]
    assert cli(*args, "--out", tmp_path / "full").code == 0
    r = cli(*args, "--out", tmp_path / "part", "--stop-after-epochs", "4")
    assert r.code == 130
    assert f"stablenet train --resume {tmp_path / 'part'}" in r.out
    assert not (tmp_path / "part" / "model.pt").exists()
    r = cli("train", "--resume", tmp_path / "part", "--quiet", "--no-plots")
    assert r.code == 0, r.err
    a, b = final_weights(tmp_path / "full"), final_weights(tmp_path / "part")
    assert all(torch.equal(a[k], b[k]) for k in a)
    a = torch.load(tmp_path / "full" / "model.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "part" / "model.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_init_and_metric_flags_reach_the_run(cli, tmp_path):
    out = tmp_path / "old"
    r = cli("train", "--dataset", "swissroll", "--init", "iid", "--metric", "euclidean",
            "--depth", "4", "--epochs", "1", "--quiet", "--no-plots", "--out", out)
    assert r.code == 0, r.err
    config = json.loads((out / "metrics.json").read_text())["config"]
    assert (config["init"], config["metric"]) == ("iid", "euclidean")
    model = stablenet.load(out / "model.pt")
    K = model.blocks[0].K.detach()
    assert not torch.allclose(K[0], K[1], atol=0.05)  # trained one epoch from a per-layer draw
    r = cli("train", "--dataset", "swissroll", "--init", "white", "--out", tmp_path / "x")
    assert r.code == 2 and "--init" in r.err and "Traceback" not in r.err


def test_resume_keeps_the_memory_mode_also_from_a_checkpoint_of_earlier_code(cli, tmp_path):
    args = ["train", "--dataset", "ellipses", "--arch", "leapfrog", "--depth", "2", "--levels",
            "1", "--epochs", "2", "--batch-size", "32", "--limit-train", "64", "--quiet",
            "--no-plots", "--out", tmp_path / "run"]
    assert cli(*args, "--checkpoint", "2", "--stop-after-epochs", "1").code == 130
    r = cli("train", "--resume", tmp_path / "run", "--reversible")
    assert r.code == 2 and "was written with --reversible / --checkpoint K" in r.err, r.err
    path = tmp_path / "run" / "checkpoint.pt"
    ckpt = torch.load(path, weights_only=True)
    assert ckpt["config"]["memory"] == {"mode": "checkpoint", "every": 2}
    # the layout written before the memory-mode objects: a name plus checkpoint_segment
    ckpt["config"].update(memory="checkpoint", checkpoint_segment=2)
    ckpt["model_config"].update(memory="checkpoint", checkpoint=2)
    torch.save(ckpt, path)
    r = cli("train", "--resume", tmp_path / "run", "--checkpoint", "2", "--quiet", "--no-plots")
    assert r.code == 0, r.err
    model = stablenet.load(tmp_path / "run" / "model.pt")
    assert model.block.memory == Checkpoint(2)
