"""The trainer's own interface: state_dict / load_state_dict, finish, and what a run loads."""

from __future__ import annotations

import torch

import stablenet
import stablenet.train.api as api
import stablenet.train.setup as setup
from stablenet.train import TrainConfig, Trainer, train
from stablenet.train.figures import plot_run
from stablenet.train.setup import load_data


def config(**kw) -> TrainConfig:
    base = dict(dataset="ellipses", depth=2, T=2.0, levels=2, epochs=2, limit_train=60,
                limit_val=30, optimizer="adam", batch_size=30, lr=0.05, seed=3)
    return TrainConfig(**{**base, **kw})


def count_calls(monkeypatch, module, name: str) -> list[int]:
    calls: list[int] = []
    original = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def test_load_state_dict_restores_position_weights_optimizer_and_rng(tmp_path):
    cfg = api.resolve(config(), False, 2)
    split = load_data(cfg)
    first = Trainer(cfg, split)
    first.run_levels()  # to the end of level 2: Adam moments, history, best weights
    state = first.state_dict()
    second = Trainer(cfg, split)
    second.load_state_dict(state)
    assert (second.level, second.epoch, second.step_k) == (first.level, first.epoch,
                                                          first.step_k)
    assert second.model.blocks[0].depth == 4 and second.history == first.history
    for (k, a), b in zip(first.model.state_dict().items(),
                         second.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    assert str(second.stepper.state_dict()) == str(first.stepper.state_dict())
    assert torch.equal(second.data_order.get_state(), first.data_order.get_state())


def test_data_loaded_once_per_run_and_checkpoint_read_once_on_resume(tmp_path, monkeypatch):
    loads = count_calls(monkeypatch, setup, "load_dataset")  # every way of loading data
    reads = count_calls(monkeypatch, api, "load_checkpoint")
    result = train(config(levels=1, epochs=1), tmp_path)
    assert len(loads) == 1 and len(reads) == 0
    assert result.split.n_train == 60 and result.split.n_val == 30  # the run's own subset
    plot_run(tmp_path, model=result.model, split=result.split)
    assert len(loads) == 1  # the figures used the run's split
    train(None, tmp_path, resume=True)
    assert len(loads) == 2 and len(reads) == 1


def test_finished_run_with_best_weights_from_the_coarse_level_resumes(tmp_path, monkeypatch):
    """The final checkpoint holds the last (fine) weights with their own model config, so a
    finished run whose best weights are of a coarser level still resumes (as finished) and
    reports those best weights, as model.pt does."""
    original = Trainer._consider

    def coarse_only(self, accuracy, loss, epoch):  # keep the best of level 1 only
        if self.level == 0:
            original(self, accuracy, loss, epoch)

    monkeypatch.setattr(Trainer, "_consider", coarse_only)
    first = train(config(), tmp_path)
    monkeypatch.setattr(Trainer, "_consider", original)
    assert first.metrics["best_level"] == 0 and first.model.blocks[0].depth == 2
    again = train(None, tmp_path, resume=True)
    assert again.metrics == first.metrics
    saved = stablenet.load(tmp_path / "model.pt")
    assert again.model.config == saved.config
    for a, b in zip(again.model.state_dict().values(), saved.state_dict().values(),
                    strict=True):
        assert torch.equal(a, b)
