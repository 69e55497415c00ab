"""Resuming safely: the data fingerprint, damaged checkpoints, a full disk, a finished run,
and a signal during the final save."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
import torch

from stablenet.data import load_dataset
from stablenet.errors import CheckpointError, OutputError
from stablenet.io import TEMPORARY
from stablenet.train import TrainConfig, TrainingInterrupted, load_checkpoint, train
from stablenet.train.fingerprint import data_fingerprint
from stablenet.train.trainer import Trainer


def write_npz(path, seed: int, n: int = 40) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n + 12, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int)
    np.savez(path, x_train=x[:n], y_train=y[:n], x_val=x[n:], y_val=y[n:])


def config(data, **kw) -> TrainConfig:
    base = dict(dataset=str(data), depth=2, T=2.0, levels=1, epochs=3, optimizer="adam",
                batch_size=20, lr=0.01)
    return TrainConfig(**{**base, **kw})


def stop_after_epoch(trainer, event: str) -> None:
    if event == "epoch":
        trainer.stop.request()


@pytest.fixture
def stopped(tmp_path):
    """A run on tiny.npz stopped after its first epoch: (data path, run directory)."""
    data, out = tmp_path / "tiny.npz", tmp_path / "run"
    write_npz(data, 0)
    with pytest.raises(TrainingInterrupted):
        train(config(data), out, callback=stop_after_epoch)
    return data, out


def test_the_checkpoint_holds_the_data_fingerprint(stopped):
    data, out = stopped
    saved = load_checkpoint(out / "checkpoint.pt")["data"]
    assert saved["n_train"] == 40 and saved["n_val"] == 12 and len(saved["digest"]) == 32


def test_resume_refuses_replaced_data_of_the_same_shapes(stopped):
    data, out = stopped
    write_npz(data, 1)  # same shapes, other values
    with pytest.raises(CheckpointError) as info:
        train(None, out, resume=True)
    msg = str(info.value)
    assert "the same sizes but other values" in msg and "--allow-data-change" in msg
    assert "--overwrite" in msg
    with pytest.warns(RuntimeWarning, match="--allow-data-change given"):
        result = train(None, out, resume=True, allow_data_change=True)
    assert result.metrics["n_train"] == 40


def test_resume_names_a_changed_size(stopped):
    data, out = stopped
    write_npz(data, 0, n=30)
    with pytest.raises(CheckpointError, match="n_train 40 then, 30 now"):
        train(None, out, resume=True)


def test_unchanged_data_resume_and_generated_problems_have_no_digest(stopped):
    data, out = stopped
    assert train(None, out, resume=True).metrics["history"][-1]["epoch"] == 3
    swissroll = load_dataset("swissroll", seed=0)  # generated from the seed in the config
    assert data_fingerprint("swissroll", swissroll)["digest"] is None
    assert data_fingerprint("my.npz", swissroll)["digest"] is not None


def test_a_checkpoint_without_fingerprint_resumes_with_a_note(stopped):
    data, out = stopped
    ckpt = load_checkpoint(out / "checkpoint.pt")
    del ckpt["data"]
    torch.save(ckpt, out / "checkpoint.pt")
    with pytest.warns(RuntimeWarning, match="holds no fingerprint of its training data"):
        train(None, out, resume=True)


@pytest.mark.parametrize("edit", [
    lambda c: c["trainer"].pop("level"),
    lambda c: c["trainer"].update(perm="not a tensor", started=True, batch=1),
    lambda c: c["trainer"].update(rng=None),
    lambda c: c["trainer"].update(optimizer={"state": 3}),
    lambda c: c["trainer"].update(level="one"),
    lambda c: c.update(model_config=[1]),
    lambda c: c.update(model={"blocks.0.K": "text"}),
])
def test_a_damaged_checkpoint_is_a_checkpoint_error(stopped, edit):
    data, out = stopped
    ckpt = load_checkpoint(out / "checkpoint.pt")
    edit(ckpt)
    torch.save(ckpt, out / "checkpoint.pt")
    with pytest.raises(CheckpointError, match="damaged or was edited") as info:
        train(None, out, resume=True)
    assert str(out / "checkpoint.pt") in str(info.value)


def test_a_full_disk_keeps_the_last_checkpoint_and_resume_completes(stopped, full_disk,
                                                                    monkeypatch, tmp_path):
    data, out = stopped
    before = (out / "checkpoint.pt").read_bytes()
    full_disk(0)
    with pytest.raises(OutputError) as info:  # the resumed run's next checkpoint fails
        train(None, out, resume=True)
    msg = str(info.value)
    assert "No space left on device" in msg and "previous checkpoint.pt is unchanged" in msg
    assert (out / "checkpoint.pt").read_bytes() == before
    assert not (out / "model.pt").exists()
    assert not any(TEMPORARY.match(p.name) for p in out.rglob("*"))  # no half-written file
    monkeypatch.undo()  # space again: the run continues to the weights of an uninterrupted one
    train(None, out, resume=True)
    full = tmp_path / "full"
    train(config(data), full)
    a = torch.load(out / "model.pt", weights_only=True)["state_dict"]
    b = torch.load(full / "model.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resuming_a_finished_run_trains_and_writes_nothing(stopped):
    data, out = stopped
    train(None, out, resume=True)
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    result = train(None, out, resume=True)
    assert result.finished_before
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stamps


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_sigterm_during_the_final_save_ends_with_a_message(stopped, monkeypatch):
    data, out = stopped
    finish = Trainer.finish

    def signalled(self):
        os.kill(os.getpid(), signal.SIGTERM)  # arrives while the final files are written
        return finish(self)

    monkeypatch.setattr(Trainer, "finish", signalled)
    with pytest.raises(TrainingInterrupted) as info:
        train(None, out, resume=True)
    assert info.value.exit_code == 128 + signal.SIGTERM
    msg = str(info.value)
    assert "SIGTERM arrived while the final files were written; the run is complete" in msg
    assert f"stablenet plot {out}" in msg
    assert load_checkpoint(out / "checkpoint.pt")["trainer"]["complete"]
    assert (out / "model.pt").is_file() and (out / "metrics.json").is_file()
