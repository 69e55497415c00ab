"""Run logs: log_steps.csv / log_epochs.csv always, TensorBoard events with log="tensorboard",
read back with the libraries that wrote them; a resumed run has exactly the rows (and
events) of an uninterrupted one, after a clean interruption and after a crash."""

from __future__ import annotations

import csv
import math

import pytest
import torch

from stablenet.objective import regularization
from stablenet.registry import build_model
from stablenet.train import TrainConfig, TrainingInterrupted, train
from stablenet.train.optimizers import learning_rate

MEASURED = ("loss", "cross_entropy", "smoothness", "weight_decay", "accuracy", "lr", "grad_norm")


def config(**kw) -> TrainConfig:
    base = dict(dataset="ellipses", depth=2, T=2.0, levels=2, epochs=3, limit_train=100,
                limit_val=40, optimizer="adam", batch_size=32, lr=0.05, seed=7)
    return TrainConfig(**{**base, **kw})


def rows(path):
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def without_seconds(table):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in table]


def test_csv_logs_hold_every_step_and_epoch(tmp_path):
    result = train(config(), tmp_path)
    steps, epochs = rows(tmp_path / "log_steps.csv"), rows(tmp_path / "log_epochs.csv")
    history = result.metrics["history"]
    # 100 examples in batches of 32: 4 steps per epoch, 3 epochs, 2 levels
    assert [int(r["step"]) for r in steps] == list(range(24))
    assert [(int(r["level"]), int(r["depth"])) for r in steps[::12]] == [(0, 2), (1, 4)]
    assert len(epochs) == len(history)
    for row, record in zip(epochs, history, strict=True):
        assert float(row["val_accuracy"]) == record["val_accuracy"]
        assert float(row["val_loss"]) == record["val_loss"]
    assert [int(r["step"]) for r in epochs] == [0, 4, 8, 12, 12, 16, 20, 24]
    for r in steps:  # J = CE + R_theta + weight decay on every row; the cosine schedule
        parts = float(r["cross_entropy"]) + float(r["smoothness"]) + float(r["weight_decay"])
        assert math.isclose(float(r["loss"]), parts, rel_tol=1e-6)
        k = int(r["step"]) - 12 * int(r["level"])
        assert float(r["lr"]) == learning_rate("cosine", 0.05, k, 12)
        assert float(r["grad_norm"]) > 0 and 0 <= float(r["accuracy"]) <= 1
    # R in the last epoch row is R of the run's last weights (the final checkpoint's)
    last = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    model = build_model(**last["model_config"])
    model.load_state_dict(last["model"])
    with torch.no_grad():
        r_last = float(regularization(model, 5e-3, 1e-3))  # the 2-D defaults' alpha, beta
    assert math.isclose(float(epochs[-1]["smoothness"]) + float(epochs[-1]["weight_decay"]),
                        r_last, rel_tol=1e-5)
    assert (tmp_path / "config.toml").is_file()
    assert not (tmp_path / "tensorboard").exists()  # only when asked for


def test_bcd_rows_have_no_learning_rate_or_gradient_norm(tmp_path):
    train(config(optimizer="bcd", levels=1, epochs=1, batch_size=50, lr=None), tmp_path)
    steps = rows(tmp_path / "log_steps.csv")
    assert len(steps) == 2 and all(r["lr"] == "" and r["grad_norm"] == "" for r in steps)
    for r in steps:  # BCD reports J and CE after its step; R is taken at the same point
        parts = float(r["cross_entropy"]) + float(r["smoothness"]) + float(r["weight_decay"])
        assert math.isclose(float(r["loss"]), parts, rel_tol=1e-5)


def stop_at(event: str, count: int, crash: bool = False):
    seen = {"n": 0}

    def callback(trainer, ev: str) -> None:
        if ev == event:
            seen["n"] += 1
            if seen["n"] == count:
                if crash:  # a crash: no checkpoint at this point, rows after the last one
                    raise RuntimeError("crash")
                trainer.stop.request()

    return callback


@pytest.mark.parametrize("event, count, crash", [
    ("step", 5, False),    # mid-epoch in level 1
    ("epoch", 3, False),   # the end of level 1, before the level-2 evaluation
    ("step", 14, True),    # a crash mid-epoch in level 2, 2 steps after a checkpoint
    ("epoch", 4, True),    # a crash after the level-2 start evaluation was logged
])
def test_resumed_run_has_the_rows_of_an_uninterrupted_one(tmp_path, event, count, crash):
    full, part = tmp_path / "full", tmp_path / "part"
    train(config(), full)
    with pytest.raises(RuntimeError if crash else TrainingInterrupted):
        train(config(), part, callback=stop_at(event, count, crash))
    train(None, part, resume=True)
    for name in ("log_steps.csv", "log_epochs.csv"):
        assert without_seconds(rows(part / name)) == without_seconds(rows(full / name)), name


def scalars(directory):
    event_accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator")
    acc = event_accumulator.EventAccumulator(str(directory), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_tensorboard_events_hold_the_csv_scalars(tmp_path):
    pytest.importorskip("tensorboard")
    train(config(log="tensorboard"), tmp_path)
    events = scalars(tmp_path / "tensorboard")
    steps, epochs = rows(tmp_path / "log_steps.csv"), rows(tmp_path / "log_epochs.csv")
    for field in (*MEASURED, "level", "depth"):
        got = events[f"step/{field}"]
        assert [s for s, _ in got] == [int(r["step"]) for r in steps]
        for (_, value), r in zip(got, steps, strict=True):  # events store float32
            assert math.isclose(value, float(r[field]), rel_tol=1e-6, abs_tol=1e-12)
    for field in ("val_accuracy", "val_loss", "smoothness"):
        got = events[f"epoch/{field}"]
        assert [s for s, _ in got] == [int(r["step"]) for r in epochs]
        assert [v for _, v in got] == pytest.approx([float(r[field]) for r in epochs],
                                                    rel=1e-6)
    train_acc = events["epoch/train_accuracy"]  # the level-start rows have no training fields
    assert len(train_acc) == sum(1 for r in epochs if r["epoch"] != "0")


@pytest.mark.parametrize("event, count, crash", [("step", 5, False), ("epoch", 3, False),
                                                 ("step", 14, True), ("epoch", 4, True)])
def test_resumed_tensorboard_events_are_those_of_an_uninterrupted_run(tmp_path, event, count,
                                                                      crash):
    pytest.importorskip("tensorboard")
    full, part = tmp_path / "full", tmp_path / "part"
    train(config(log="tensorboard"), full)
    with pytest.raises(RuntimeError if crash else TrainingInterrupted):
        train(config(log="tensorboard"), part, callback=stop_at(event, count, crash))
    train(None, part, resume=True)
    a, b = scalars(full / "tensorboard"), scalars(part / "tensorboard")
    assert a.keys() == b.keys()
    for tag in a:
        if tag not in ("step/seconds", "epoch/seconds"):
            assert b[tag] == a[tag], tag


def test_overwrite_starts_the_logs_afresh(tmp_path):
    pytest.importorskip("tensorboard")
    train(config(log="tensorboard", levels=1, epochs=2), tmp_path)
    train(config(log="tensorboard", levels=1, epochs=1), tmp_path, overwrite=True)
    assert len(rows(tmp_path / "log_steps.csv")) == 4
    assert len(scalars(tmp_path / "tensorboard")["step/loss"]) == 4


def test_tensorboard_asked_for_but_not_installed_is_a_config_error(monkeypatch, tmp_path):
    import importlib.util

    from stablenet.errors import ConfigError

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "tensorboard" else real(name, *a))
    with pytest.raises(ConfigError, match="--log tensorboard needs the tensorboard package"):
        train(config(log="tensorboard"), tmp_path)
    assert not (tmp_path / "log_steps.csv").exists()
