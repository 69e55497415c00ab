"""Another integrator for a named architecture: ``integrator="midpoint"`` (``--integrator``)
for the first-order networks, through blocks, models, files and training configs."""

from __future__ import annotations

import pytest
import torch

import stablenet
from stablenet.errors import ConfigError
from stablenet.integrators import ForwardEuler, Midpoint
from stablenet.schemes import FIRST_ORDER_ARCHS, integrator_for
from stablenet.train import TrainConfig
from stablenet.train.config import check, resolve


def test_the_first_order_networks_take_the_midpoint_rule_and_the_others_refuse():
    assert FIRST_ORDER_ARCHS == ("resnet", "antisymmetric", "parabolic")
    for arch in FIRST_ORDER_ARCHS:
        assert isinstance(integrator_for(arch), ForwardEuler)
        assert isinstance(integrator_for(arch, "midpoint"), Midpoint)
    for arch, own in (("hamiltonian", "verlet"), ("leapfrog", "leapfrog")):
        assert integrator_for(arch, own).name == own
        with pytest.raises(ConfigError, match=f"integrates with {own} only, not midpoint"):
            integrator_for(arch, "midpoint")
    with pytest.raises(ConfigError, match="integrator"):
        integrator_for("antisymmetric", "rk4")


def test_a_midpoint_model_is_the_midpoint_rule_and_survives_a_file(tmp_path):
    torch.manual_seed(0)
    model = stablenet.build_model("antisymmetric", (2,), 3, 4, 6, 2.0, integrator="midpoint")
    block = model.block
    assert isinstance(block.integrator, Midpoint) and block.parametrization.gamma == 0.0
    assert model.config["integrator"] == "midpoint" and model.config["gamma"] == 0.0
    x = torch.randn(5, 2)
    K, b = block.weights()
    h = block.T / block.depth
    y_prev = y = model.embed(x)
    for j in range(block.depth):
        y_prev, y = y, y_prev + 2 * h * torch.tanh(y @ K[j].T + b[j])
    torch.testing.assert_close(model.block(model.embed(x)), y, rtol=1e-6, atol=1e-6)
    stablenet.save(model, tmp_path / "m.pt")
    loaded = stablenet.load(tmp_path / "m.pt")
    assert isinstance(loaded.block.integrator, Midpoint)
    torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    named = stablenet.build_block("resnet", 4, 5, 1.0, integrator="midpoint")
    stablenet.save(named, tmp_path / "b.pt")
    assert isinstance(stablenet.load(tmp_path / "b.pt").integrator, Midpoint)


def test_a_model_file_without_an_integrator_keeps_the_architecture_s(tmp_path):
    """Files written before the option: no ``integrator`` in the config."""
    model = stablenet.build_model("antisymmetric", (2,), 2, 4, 3, 1.0)
    assert model.config["integrator"] == "euler"
    config = {k: v for k, v in model.config.items() if k != "integrator"}
    torch.save({"state_dict": model.state_dict(), "config": config}, tmp_path / "old.pt")
    assert isinstance(stablenet.load(tmp_path / "old.pt").block.integrator, ForwardEuler)


def test_training_integrates_the_antisymmetric_network_by_the_midpoint_rule_by_default():
    """stablenet train's default (DEFAULT_INTEGRATOR; docs/depth.md), with no damping; the
    paper's forward Euler on request, with its default damping 2 / T."""
    default = resolve(TrainConfig(dataset="peaks", arch="antisymmetric", T=4.0), False, 2)
    euler = resolve(TrainConfig(dataset="peaks", arch="antisymmetric", T=4.0,
                                integrator="euler"), False, 2)
    assert (default.integrator, default.gamma) == ("midpoint", 0.0)
    assert (euler.integrator, euler.gamma) == ("euler", 0.5)
    for arch, own in (("hamiltonian", "verlet"), ("leapfrog", "leapfrog"), ("resnet", "euler")):
        assert resolve(TrainConfig(dataset="peaks", arch=arch), False, 2).integrator == own
    given = resolve(TrainConfig(dataset="peaks", arch="antisymmetric", gamma=0.1), False, 2)
    assert given.gamma == 0.1  # a damping the user sets is kept (analyze will object)
    with pytest.raises(ConfigError, match="--integrator: the hamiltonian network"):
        check(TrainConfig(arch="hamiltonian", integrator="midpoint"))


def test_cli_trains_the_midpoint_network_reversibly(tmp_path):
    from stablenet.cli import main

    out = tmp_path / "run"
    code = main(["train", "--dataset", "swissroll", "--arch", "antisymmetric", "--integrator",
                 "midpoint", "--reversible", "--depth", "8", "--epochs", "1", "--quiet",
                 "--no-plots", "--out", str(out)])
    assert code == 0
    model = stablenet.load(out / "model.pt")
    assert model.config["integrator"] == "midpoint" and model.config["gamma"] == 0.0
    assert model.block.memory == stablenet.memory.Reversible()
    assert main(["train", "--dataset", "swissroll", "--arch", "leapfrog", "--integrator",
                 "midpoint", "--out", str(tmp_path / "no")]) == 2
