"""stablenet.save / load: eval mode, run directories, named blocks, clear refusals of what
cannot be rebuilt, and CheckpointError (never TypeError / KeyError) for edited files."""

from __future__ import annotations

import pytest
import torch

import stablenet
from stablenet import StableBlock
from stablenet.errors import CheckpointError, ConfigError, ConfigTypeError
from stablenet.integrators import ForwardEuler
from stablenet.layers import Dense, Plain


def test_load_gives_eval_mode_and_the_same_outputs(tmp_path):
    model = stablenet.build_model("hamiltonian", (1, 6, 6), 3, [4], 2, 1.0)
    model.train()
    with torch.no_grad():  # running statistics that differ from a batch's own
        model.opening[1].running_mean.fill_(0.5)
    stablenet.save(model, tmp_path / "m.pt")
    loaded = stablenet.load(tmp_path / "m.pt")
    assert not loaded.training and not any(m.training for m in loaded.modules())
    x = torch.randn(5, 1, 6, 6)
    assert torch.equal(loaded(x), model.eval()(x))


def test_load_accepts_a_run_directory(tmp_path):
    model = stablenet.build_model("resnet", (2,), 2, 4, 3, 1.0)
    stablenet.save(model, tmp_path / "model.pt")
    assert torch.equal(stablenet.load(tmp_path).block.K, model.block.K)
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="directory without model.pt"):
        stablenet.load(tmp_path / "empty")


@pytest.mark.parametrize("block", [
    stablenet.HamiltonianNet(4, 3, 2.0),
    stablenet.AntisymmetricResNet(3, 2, 1.0, activation="relu", gamma=0.3),
    stablenet.ConvLeapfrogNet(2, 3, 1.0, bias="feature", memory="reversible", kernel_size=5),
    stablenet.build_block("parabolic", 3, 4, 0.5, conv=True, memory=stablenet.Checkpoint(2)),
])
def test_a_named_block_round_trips(tmp_path, block):
    with torch.no_grad():
        block.b.normal_()
    stablenet.save(block, tmp_path / "b.pt")
    loaded = stablenet.load(tmp_path / "b.pt")
    assert type(loaded) is type(block) and not loaded.training
    assert (loaded.memory, loaded.T, loaded.depth) == (block.memory, block.T, block.depth)
    assert repr(loaded) == repr(block)
    shape = (5, 2, 4, 4) if block.operator.kind == "conv" else (5, block.width)
    x = torch.randn(*shape[:1], block.width, *shape[2:])
    assert torch.equal(loaded(x), block(x))


@pytest.mark.parametrize("module, inside", [
    (torch.nn.Sequential(stablenet.HamiltonianNet(4, 2, 1.0), torch.nn.Linear(4, 2)), 1),
    (torch.nn.Linear(2, 2), 0),
    (StableBlock(Plain(Dense(4)), ForwardEuler(), 3, 1.0), None),
    (stablenet.ResNet(4, 3, 1.0, activation=lambda t: t.clamp(-1, 1)), None),
])
def test_what_load_could_not_rebuild_is_refused(tmp_path, module, inside):
    with pytest.raises(ConfigTypeError) as info:
        stablenet.save(module, tmp_path / "m.pt")
    msg = str(info.value)
    assert "build_model" in msg and "named blocks" in msg and "state_dict" in msg
    if inside:
        assert f"contains {inside} stable block" in msg
    assert not (tmp_path / "m.pt").exists()


def test_save_to_a_directory_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="is a directory; give a file name, e.g. .*model.pt"):
        stablenet.save(stablenet.build_model("resnet", (2,), 2, 4, 3, 1.0), tmp_path)


def test_save_is_atomic(tmp_path, full_disk):
    path = tmp_path / "m.pt"
    stablenet.save(stablenet.build_model("resnet", (2,), 2, 4, 3, 1.0), path)
    before = path.read_bytes()
    full_disk(1000)
    with pytest.raises(OSError, match="No space left on device"):
        stablenet.save(stablenet.build_model("resnet", (2,), 2, 64, 30, 1.0), path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["m.pt"]


@pytest.mark.parametrize("edit, message", [
    (lambda p: p["config"].update(bogus=1), "unexpected keyword argument 'bogus'"),
    (lambda p: p["config"].pop("arch"), "missing 1 required positional argument: 'arch'"),
    (lambda p: p["config"].update(depth="three"), "invalid config"),
    (lambda p: p["config"].update(width=None), "invalid config"),
    (lambda p: p["config"].update(input_shape=5), "invalid config"),
    (lambda p: p.update(config=[1, 2]), "config is not a dict"),
    (lambda p: p["state_dict"].update(extra="text"), "state_dict is not a dict of tensors"),
    (lambda p: p.update(state_dict=None), "state_dict is not a dict of tensors"),
])
def test_an_edited_model_file_is_a_checkpoint_error(tmp_path, edit, message):
    model = stablenet.build_model("hamiltonian", (2,), 2, 4, 3, 1.0)
    payload = {"state_dict": model.state_dict(), "config": dict(model.config)}
    edit(payload)
    path = tmp_path / "edited.pt"
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=message) as info:
        stablenet.load(path)
    assert str(path) in str(info.value)
