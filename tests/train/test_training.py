"""Training end to end through the library: accuracy, selection rule, determinism, dtype."""

from __future__ import annotations

import json

import pytest
import torch

import stablenet
from stablenet.memory import Checkpoint, Reversible
from stablenet.train import TrainConfig, evaluate, train
from stablenet.train.setup import load_data


@pytest.mark.filterwarnings("ignore:block 0:RuntimeWarning")  # h = 1.25: a little unstable
@pytest.mark.parametrize("dataset, bar, limit", [
    ("ellipses", 0.97, None), ("swissroll", 0.90, None), ("peaks", 0.85, 1500),
])
def test_short_training_reaches_a_stated_accuracy(dataset, bar, limit):
    cfg = TrainConfig(dataset=dataset, arch="hamiltonian", T=5.0, depth=4, levels=1, epochs=15,
                      limit_train=limit)
    metrics = train(cfg).metrics
    assert metrics["best_val_accuracy"] >= bar, metrics["best_val_accuracy"]


def tiny(**kw) -> TrainConfig:
    base = dict(dataset="ellipses", depth=2, T=2.0, levels=2, epochs=3, limit_train=120,
                limit_val=40, optimizer="adam", batch_size=32, lr=0.05)
    return TrainConfig(**{**base, **kw})


def test_outputs_and_selection_rule(tmp_path):
    result = train(tiny(), tmp_path)
    m = json.loads((tmp_path / "metrics.json").read_text())
    for key in ("train_accuracy", "val_accuracy", "best_val_accuracy", "final_loss", "seconds",
                "n_parameters", "config", "history"):
        assert key in m
    assert m["config"]["depth"] == 2 and m["config"]["levels"] == 2
    epochs = [r for r in m["history"] if r["epoch"] > 0]
    assert len(epochs) == 2 * 3 and {r["depth"] for r in epochs} == {2, 4}
    assert m["best_val_accuracy"] == max(r["val_accuracy"] for r in m["history"])
    model = stablenet.load(tmp_path / "model.pt")  # the best-validation weights
    split = load_data(TrainConfig.from_dict(m["config"]))
    assert evaluate(model, split.x_val, split.y_val).accuracy == m["best_val_accuracy"]
    assert model.config["depth"] == m["model_config"]["depth"]
    assert m["n_parameters"] == sum(p.numel() for p in result.model.parameters())


def _final_weights(path):
    return torch.load(path / "checkpoint.pt", weights_only=True)["model"]


def test_same_seed_same_numbers_other_seed_other_numbers(tmp_path):
    a = train(tiny(seed=3), tmp_path / "a").metrics
    b = train(tiny(seed=3), tmp_path / "b").metrics
    train(tiny(seed=4), tmp_path / "c")
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in a["history"]]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in b["history"]]
    wa, wb, wc = (_final_weights(tmp_path / n) for n in "abc")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not all(torch.equal(wa[k], wc[k]) for k in wa)


def test_float64_on_request():
    result = train(tiny(dtype="float64", levels=1, epochs=1))
    assert all(p.dtype == torch.float64 for p in result.model.parameters())


def test_bcd_optimizer_plugs_into_the_loop():
    """BCD trains through the loop: measured (seed 0, every CPU kernel set) the epoch's mean
    training loss falls 0.466 -> 0.18-0.19, the validation loss 0.679 -> 0.30-0.40 and the
    validation accuracy 0.625 -> 0.90 (chance 0.5); the bounds leave wide margins."""
    h = train(tiny(optimizer="bcd", levels=1, epochs=2, batch_size=60)).metrics["history"]
    start, first, last = h[0], h[1], h[2]
    assert last["train_loss"] < 0.6 * first["train_loss"]
    assert last["val_loss"] < 0.75 * start["val_loss"]
    assert max(r["val_accuracy"] for r in h) >= 0.8 > start["val_accuracy"]


@pytest.mark.parametrize("memory", [Reversible(drift_tol=0.5), Checkpoint(every=1)], ids=repr)
def test_memory_mode_passes_through(memory, monkeypatch):
    """The mode reaches the blocks and really runs every training step (spied on)."""
    calls = []
    integrate = type(memory).integrate

    def spy(mode, *args):
        calls.append(mode)
        return integrate(mode, *args)

    monkeypatch.setattr(type(memory), "integrate", spy)
    result = train(tiny(arch="leapfrog", memory=memory, levels=1, epochs=1))
    assert result.model.config["memory"] == memory.to_config()
    assert result.model.block.memory == memory
    assert len(calls) == 4  # 120 examples in batches of 32: one integration per step
    assert all(mode is calls[0] and mode is not memory for mode in calls)  # the block's own copy
    if isinstance(memory, Reversible):  # its backward ran: the drift was measured
        assert 0 <= result.model.block.last_drift < 0.5


def test_best_weights_of_a_coarser_level_are_saved_with_their_depth(tmp_path):
    def sabotage_level_2(trainer, event: str) -> None:
        if trainer.level == 1:
            with torch.no_grad():
                trainer.model.classifier.weight.zero_()
                trainer.model.classifier.bias.zero_()

    m = train(tiny(), tmp_path, callback=sabotage_level_2).metrics
    assert m["best_level"] == 0 and m["model_config"]["depth"] == 2
    assert m["config"]["depth"] == 2 and m["history"][-1]["depth"] == 4
    model = stablenet.load(tmp_path / "model.pt")
    assert model.blocks[0].depth == 2
    final = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["model"]
    assert final["blocks.0.K"].shape[0] == 4  # the checkpoint keeps the final weights


def test_epochs_per_level_are_run_level_by_level():
    config = TrainConfig(dataset="swissroll", depth=4, levels=3, epochs=[2, 1, 3],
                         limit_train=64, limit_val=32)
    history = train(config).metrics["history"]
    runs = [(r["level"], r["depth"]) for r in history if r["epoch"] > 0]
    assert runs == [(0, 4)] * 2 + [(1, 8)] + [(2, 16)] * 3
