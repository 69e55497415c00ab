"""The run directory: one run at a time (the lock), --overwrite that removes the old run's
files before the new one writes, stale temporaries of killed writes cleaned up."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time

import pytest
import torch

from stablenet.errors import ConfigError, DataError
from stablenet.train import DivergenceError, TrainConfig, TrainingInterrupted, rundir, train
from stablenet.train.rundir import LOCK, clear_run, previous_run_files, run_lock


def config(**kw) -> TrainConfig:
    base = dict(dataset="ellipses", depth=2, T=2.0, levels=1, epochs=2, limit_train=40,
                limit_val=16, optimizer="adam", batch_size=20, lr=0.01)
    return TrainConfig(**{**base, **kw})


def hold_lock(directory) -> subprocess.Popen:
    """A separate process that takes the run lock of ``directory`` and keeps it."""
    code = ("import sys, time; from stablenet.train.rundir import run_lock\n"
            "with run_lock(sys.argv[1]):\n    print('locked', flush=True); time.sleep(600)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(directory)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


@pytest.mark.skipif(os.name != "posix", reason="POSIX processes and signals")
def test_a_second_run_is_refused_and_a_killed_holder_does_not_block(tmp_path):
    proc = hold_lock(tmp_path)
    try:
        with pytest.raises(ConfigError) as info:
            train(config(), tmp_path)
        msg = str(info.value)
        assert f"in use by another training run: process {proc.pid}" in msg
        assert "another --out" in msg and not (tmp_path / "checkpoint.pt").exists()
    finally:
        proc.kill()  # SIGKILL: the lock file stays behind, the flock goes with the process
        proc.wait()
    assert json.loads((tmp_path / LOCK).read_text())["pid"] == proc.pid
    train(config(), tmp_path)  # the stale lock does not block
    assert (tmp_path / "model.pt").is_file() and not (tmp_path / LOCK).exists()


def test_the_lock_is_released_after_errors_and_refuses_a_second_holder(tmp_path):
    with pytest.raises(DataError):
        train(config(dataset=str(tmp_path / "missing.npz")), tmp_path)
    assert not (tmp_path / LOCK).exists()
    with run_lock(tmp_path):
        with pytest.raises(ConfigError, match=f"process {os.getpid()}"):
            with run_lock(tmp_path):
                pass
    with run_lock(tmp_path):  # released: taken again
        pass


@pytest.mark.skipif(os.name != "posix", reason="POSIX pids")
def test_without_flock_a_dead_holder_is_taken_over(tmp_path, monkeypatch):
    monkeypatch.setattr(rundir, "fcntl", None)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    info = {**rundir.holder_info(), "pid": dead.pid}
    (tmp_path / LOCK).write_text(json.dumps(info))
    with run_lock(tmp_path):
        assert json.loads((tmp_path / LOCK).read_text())["pid"] == os.getpid()
    (tmp_path / LOCK).write_text(json.dumps(rundir.holder_info()))  # a live holder: us
    with pytest.raises(ConfigError, match=f"process {os.getpid()}"):
        with run_lock(tmp_path):
            pass


def stop_at_first_step(trainer, event: str) -> None:
    if event == "step":
        trainer.stop.request()


def test_overwrite_removes_the_old_run_before_the_new_one_writes(tmp_path):
    train(config(seed=1), tmp_path)
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "curves.png").write_bytes(b"old figure")
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match=r"already holds a training run \(checkpoint.pt"):
        train(config(seed=2), tmp_path)
    with pytest.raises(DataError):  # a new run that fails its checks removes nothing
        train(config(dataset=str(tmp_path / "missing.npz")), tmp_path, overwrite=True)
    assert (tmp_path / "model.pt").is_file()
    with pytest.raises(TrainingInterrupted):
        train(config(seed=2), tmp_path, overwrite=True, callback=stop_at_first_step)
    assert not (tmp_path / "model.pt").exists() and not (tmp_path / "metrics.json").exists()
    assert not (tmp_path / "figures").exists()  # emptied, so removed
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert ckpt["config"]["seed"] == 2  # the new run's, not a mix
    assert (tmp_path / "notes.txt").read_text() == "mine"


def nan_at_first_step(trainer, event: str) -> None:
    if event == "step" and trainer.step_k == 1:
        with torch.no_grad():
            trainer.model.blocks[0].K[0] = math.nan


def test_a_diverged_overwrite_never_points_at_the_old_checkpoint(tmp_path):
    train(config(), tmp_path)
    with pytest.raises(DivergenceError) as info:
        train(config(seed=3), tmp_path, overwrite=True, callback=nan_at_first_step)
    assert "last good checkpoint" not in str(info.value)
    left = {p.name for p in previous_run_files(tmp_path)}
    assert not left & {"checkpoint.pt", "model.pt", "metrics.json"}  # the old run's are gone
    assert "seed = 3" in (tmp_path / "config.toml").read_text()  # the new run's settings


def test_clear_run_removes_only_run_files(tmp_path):
    for name in ("checkpoint.pt", "model.pt", "metrics.json", "log_steps.csv", "data.csv"):
        (tmp_path / name).write_text("x")
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "a.png").write_text("x")
    (tmp_path / "figures" / "keep.txt").write_text("x")
    removed = {p.name for p in clear_run(tmp_path)}
    assert removed == {"checkpoint.pt", "model.pt", "metrics.json", "log_steps.csv", "a.png"}
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["data.csv", "figures", "keep.txt"]


def test_stale_temporaries_of_killed_writes_are_removed_by_the_next_run(tmp_path):
    train(config(), tmp_path)
    stale = tmp_path / ".checkpoint.pt.k2l3m4n5.tmp"
    stale.write_bytes(b"half a checkpoint")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    train(None, tmp_path, resume=True)
    assert not stale.exists()


def test_resume_with_overwrite_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="--resume continues .* --overwrite starts"):
        train(None, tmp_path, resume=True, overwrite=True)


def test_a_file_system_without_flock_falls_back_to_the_exclusive_lock(tmp_path, monkeypatch):
    class NoLocks:
        LOCK_EX, LOCK_NB = 2, 4

        @staticmethod
        def flock(fd, flags):
            import errno

            raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(rundir, "fcntl", NoLocks)
    with run_lock(tmp_path):
        assert json.loads((tmp_path / LOCK).read_text())["pid"] == os.getpid()
        with pytest.raises(ConfigError, match=f"process {os.getpid()}"):
            with run_lock(tmp_path):
                pass
    assert not (tmp_path / LOCK).exists()
