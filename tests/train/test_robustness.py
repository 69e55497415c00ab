"""Robustness in the library: checkpoint errors, divergence caught, atomic writes, signals."""

from __future__ import annotations

import math
import os
import signal

import pytest
import torch

import stablenet
from stablenet.errors import CheckpointError, ConfigError
from stablenet.io import atomic_write, ensure_writable_dir, save_json
from stablenet.train import DivergenceError, TrainConfig, load_checkpoint, train
from stablenet.train.checkpoint import check_same, load_model_state, save_checkpoint
from stablenet.train.divergence import first_state_blowup
from stablenet.train.optimizers import learning_rate
from stablenet.train.signals import StopRequests


def config(**kw) -> TrainConfig:
    base = dict(dataset="ellipses", depth=4, T=2.0, levels=1, epochs=2, limit_train=64,
                limit_val=32, optimizer="adam", batch_size=16, lr=0.01)
    return TrainConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    train(config(), out)
    return out


def test_a_good_checkpoint_loads(run_dir):
    ckpt = load_checkpoint(run_dir / "checkpoint.pt")
    assert ckpt["config"]["arch"] == "hamiltonian" and ckpt["trainer"]["complete"]


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "checkpoint.pt")


def test_random_bytes_are_corrupt(tmp_path):
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(os.urandom(2000))
    with pytest.raises(CheckpointError, match="corrupt, truncated or foreign"):
        load_checkpoint(path)


def test_truncated_checkpoint(tmp_path, run_dir):
    raw = (run_dir / "checkpoint.pt").read_bytes()
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError, match="corrupt, truncated or foreign"):
        load_checkpoint(path)


def test_foreign_torch_files(tmp_path):
    path = tmp_path / "checkpoint.pt"
    torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(CheckpointError, match="not a stablenet training checkpoint"):
        load_checkpoint(path)
    torch.save(torch.nn.Linear(2, 2), path)  # a pickled module: refused, not executed
    with pytest.raises(CheckpointError, match="foreign"):
        load_checkpoint(path)
    save_checkpoint(path, {"config": {}})
    with pytest.raises(CheckpointError, match="incomplete: missing model_config"):
        load_checkpoint(path)
    torch.save({"format": "stablenet-checkpoint", "version": 99}, path)
    with pytest.raises(CheckpointError, match="version 99"):
        load_checkpoint(path)


def test_corrupt_checkpoint_refused_on_resume(tmp_path, run_dir):
    out = tmp_path / "copy"
    out.mkdir()
    raw = (run_dir / "checkpoint.pt").read_bytes()
    (out / "checkpoint.pt").write_bytes(raw[:-100])
    with pytest.raises(CheckpointError, match="checkpoint.pt"):
        train(None, out, resume=True)


def test_different_architecture_names_the_field(run_dir):
    saved = load_checkpoint(run_dir / "checkpoint.pt")["config"]
    with pytest.raises(CheckpointError, match="arch='hamiltonian', but this run has arch='resnet'"):
        check_same(saved, {**saved, "arch": "resnet"}, "ckpt")
    with pytest.raises(CheckpointError, match="width=4, but this run has width=8"):
        check_same(saved, {**saved, "width": 8}, "ckpt")


def test_state_of_another_width_names_the_tensor(run_dir):
    state = load_checkpoint(run_dir / "checkpoint.pt")["model"]
    wider = stablenet.build_model("hamiltonian", (2,), 2, 6, 4, 2.0)
    with pytest.raises(CheckpointError, match=r"'blocks.0.K' has shape \[4, 4, 4\] in the "
                       r"checkpoint but \[4, 6, 6\]"):
        load_model_state(wider, state, "ckpt")
    other = stablenet.build_model("resnet", (2,), 2, 4, 4, 2.0, opening="linear")
    with pytest.raises(CheckpointError, match="another architecture"):
        load_model_state(other, state, "ckpt")


def inject_nan(layer: int, at_step: int):
    def callback(trainer, event: str) -> None:
        if event == "step" and trainer.step_k == at_step:
            with torch.no_grad():
                trainer.model.blocks[0].K[layer] = math.nan

    return callback


def test_nan_weights_stop_training_naming_the_layer(tmp_path):
    with pytest.raises(DivergenceError) as info:
        train(config(), tmp_path, callback=inject_nan(layer=2, at_step=6))  # 4 steps per epoch
    msg = str(info.value)
    assert "the loss is nan" in msg and "layer 2 of block 0" in msg
    assert "smaller step h" in msg and "stablenet analyze" in msg
    assert f"last good checkpoint is kept in {tmp_path / 'checkpoint.pt'}" in msg
    kept = load_checkpoint(tmp_path / "checkpoint.pt")
    assert kept["trainer"]["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in kept["model"].values())
    assert not (tmp_path / "model.pt").exists()


def test_exploding_gradient_norm_stops_training():
    with pytest.raises(DivergenceError, match="gradient norm is .*; the largest weight gradient"):
        train(config(max_grad_norm=1e-9))


def test_first_state_blowup_finds_the_layer():
    model = stablenet.build_model("resnet", (2,), 2, 2, 8, 1.0, activation="identity")
    with torch.no_grad():
        model.blocks[0].K.zero_()
        model.blocks[0].K[5] = 1e9 * torch.eye(2)
    where = first_state_blowup(model, torch.ones(3, 2))
    assert where is not None and "layer 5 of block 0" in where
    model.blocks[0].K.data[5] = 0.0
    assert first_state_blowup(model, torch.ones(3, 2)) is None


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / "metrics.json"
    save_json({"a": 1}, path)

    def broken(f):
        f.write(b'{"a": 2')
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, broken)
    assert path.read_text().strip() == '{\n  "a": 1\n}'
    assert os.listdir(tmp_path) == ["metrics.json"]  # no temporary file left behind


def test_json_writes_non_finite_numbers_as_null(tmp_path):
    save_json({"x": math.nan, "y": [math.inf, 1.5]}, tmp_path / "m.json")
    assert (tmp_path / "m.json").read_text().split() == ['{', '"x":', 'null,', '"y":', '[',
                                                         'null,', '1.5', ']', '}']


def test_unwritable_output_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="exists and is not a directory"):
        ensure_writable_dir(blocker)
    with pytest.raises(ConfigError, match="cannot write to the output directory"):
        ensure_writable_dir(blocker / "sub")
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(ConfigError, match="cannot write"):
            train(config(), locked)


def test_stop_requests_record_signals_and_restore_handlers():
    before = signal.getsignal(signal.SIGTERM)
    with StopRequests() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.signum == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) == before


def test_learning_rate_schedules():
    assert learning_rate("none", 0.1, 50, 100) == 0.1
    assert learning_rate("cosine", 1.0, 0, 100) == 1.0
    assert abs(learning_rate("cosine", 1.0, 50, 100) - 0.505) < 1e-12
    assert abs(learning_rate("cosine", 1.0, 100, 100) - 0.01) < 1e-12
    assert [learning_rate("step", 1.0, k, 100) for k in (49, 50, 75)] == [1.0, 0.1, 0.1 * 0.1]
