"""Stopping a run anywhere and resuming it ends with exactly the uninterrupted weights."""

from __future__ import annotations

import pytest
import torch

from stablenet.train import TrainConfig, TrainingInterrupted, train


def config(**kw) -> TrainConfig:
    base = dict(dataset="ellipses", depth=2, T=2.0, levels=2, epochs=3, limit_train=100,
                limit_val=40, optimizer="adam", batch_size=32, lr=0.05, seed=7)
    return TrainConfig(**{**base, **kw})


def stop_at(event: str, count: int):
    seen = {"n": 0}

    def callback(trainer, ev: str) -> None:
        if ev == event:
            seen["n"] += 1
            if seen["n"] == count:
                trainer.stop.request()

    return callback


def weights(path):
    payload = torch.load(path, weights_only=True)
    return payload.get("state_dict", payload.get("model"))


def assert_same_run(a, b):
    for name in ("checkpoint.pt", "model.pt"):
        wa, wb = weights(a / name), weights(b / name)
        assert wa.keys() == wb.keys()
        for k in wa:
            assert torch.equal(wa[k], wb[k]), (name, k)


@pytest.mark.parametrize("kw, event, count", [
    ({}, "step", 5),                   # mid-epoch in level 1 (4 steps per epoch)
    ({}, "step", 14),                  # mid-epoch in level 2
    ({}, "epoch", 3),                  # at the end of level 1, before prolongation
    ({"optimizer": "lbfgs", "batch_size": 0, "lr": 1.0}, "epoch", 2),
    ({"optimizer": "sgd", "schedule": "step"}, "step", 9),
    ({"compile": "aot_eager"}, "step", 5),  # the resumed run compiles afresh
])
def test_resume_gives_the_uninterrupted_weights(tmp_path, kw, event, count):
    full, part = tmp_path / "full", tmp_path / "part"
    reference = train(config(**kw), full).metrics
    with pytest.raises(TrainingInterrupted, match=f"--resume {part}") as info:
        train(config(**kw), part, callback=stop_at(event, count))
    assert info.value.exit_code == 130 and (part / "checkpoint.pt").is_file()
    assert not (part / "model.pt").exists()
    resumed = train(None, part, resume=True).metrics
    assert_same_run(full, part)
    strip = lambda m: [{k: v for k, v in r.items() if k != "seconds"} for r in m["history"]]  # noqa: E731
    assert strip(resumed) == strip(reference)
    assert resumed["best_val_accuracy"] == reference["best_val_accuracy"]


def test_resuming_a_finished_run_changes_nothing(tmp_path):
    first = train(config(levels=1, epochs=1), tmp_path).metrics
    again = train(None, tmp_path, resume=True).metrics
    assert again == first


def test_an_existing_run_is_not_overwritten_by_accident(tmp_path):
    from stablenet.errors import ConfigError

    train(config(levels=1, epochs=1), tmp_path)
    with pytest.raises(ConfigError, match="already holds a training run"):
        train(config(levels=1, epochs=1), tmp_path)
    train(config(levels=1, epochs=1), tmp_path, overwrite=True)
