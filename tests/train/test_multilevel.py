"""Multilevel prolongation (docs/theory.md 4): piecewise-linear interpolation in time at fixed T."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import stablenet
from stablenet.train import interpolate_in_time, prolong, prolong_model

ARCHS = ["resnet", "antisymmetric", "hamiltonian", "leapfrog", "parabolic"]


def test_doubling_formula(float64):
    old = torch.randn(5, 3, 3)
    new = interpolate_in_time(old, 10)
    assert new.shape == (10, 3, 3)
    for j in range(5):
        assert torch.equal(new[2 * j], old[j])
    for j in range(4):
        torch.testing.assert_close(new[2 * j + 1], (old[j] + old[j + 1]) / 2)
    assert torch.equal(new[9], old[4])  # held constant past the last old time


def test_linear_in_time_parameter_is_prolonged_exactly(float64):
    T, n = 3.0, 6
    A, B = torch.randn(4, 4), torch.randn(4, 4)
    t = torch.arange(n) * (T / n)
    old = A + t.reshape(-1, 1, 1) * B
    for m in (12, 24, 9):
        s = torch.arange(m) * (T / m)
        new = interpolate_in_time(old, m)
        inside = s <= t[-1] + 1e-12
        expected = A + s.reshape(-1, 1, 1) * B
        torch.testing.assert_close(new[inside], expected[inside])
        assert torch.equal(new[~inside], old[-1].expand_as(new[~inside]))


def test_matches_numpy_interp_for_any_new_depth(float64):
    old = torch.randn(7)
    for m in (3, 7, 11, 28):
        s = np.arange(m) * 7 / m
        expected = np.interp(s, np.arange(7), old.numpy())
        np.testing.assert_allclose(interpolate_in_time(old, m).numpy(), expected, rtol=1e-12)


def _smooth_block(arch: str, depth: int = 8, T: float = 2.0):
    torch.manual_seed(0)
    block = stablenet.build_block(arch, 4, depth, T)
    t = (torch.arange(depth) * block.h).reshape(-1, 1, 1)
    with torch.no_grad():
        block.K.copy_(0.5 * (torch.randn(4, 4) + torch.sin(t) * torch.randn(4, 4)))
        block.b.copy_(0.1 * torch.cos(t.ravel()))
    return block


def _default_block(arch: str, depth: int = 8, T: float = 2.0):
    torch.manual_seed(0)
    return stablenet.build_block(arch, 4, depth, T)  # the smooth default K(t)


@pytest.mark.parametrize("make", [_smooth_block, _default_block], ids=["smooth", "default"])
@pytest.mark.parametrize("arch", ARCHS)
def test_prolonged_output_stays_close_and_gap_shrinks(arch, make, float64):
    """Depth N -> 2N by interpolation in time: the output changes by O(h) (the gap about
    halves per doubling), for weights sampled from a smooth K(t), the default's included."""
    block, x = make(arch), torch.randn(50, 4)
    gaps = []
    with torch.no_grad():
        prev = block(x)
        for _ in range(4):
            block = prolong(block)
            out = block(x)
            gaps.append(float((out - prev).norm() / prev.norm()))
            prev = out
    assert block.depth == 8 * 2**4 and block.T == 2.0
    assert gaps[0] < 0.2, gaps
    for coarse, fine in zip(gaps, gaps[1:], strict=False):
        assert fine < coarse / 1.5, gaps  # first order: the gap about halves per level


def test_prolong_model_keeps_opening_and_classifier_and_updates_config():
    torch.manual_seed(1)
    model = stablenet.build_model("hamiltonian", (2,), 3, 4, 4, 5.0, opening="linear")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    prolong_model(model)
    assert model.config["depth"] == 8 and model.blocks[0].depth == 8
    for key in ("opening.weight", "opening.bias", "classifier.weight", "classifier.bias"):
        assert torch.equal(model.state_dict()[key], before[key])
    torch.testing.assert_close(model.blocks[0].K[::2], before["blocks.0.K"])
    rebuilt = stablenet.build_model(**model.config)
    rebuilt.load_state_dict(model.state_dict())  # the config describes the prolonged model


def test_prolong_image_model_doubles_every_stage():
    model = stablenet.build_model("leapfrog", (1, 8, 8), 10, [4, 8], [2, 3], 1.0)
    prolong_model(model)
    assert [b.depth for b in model.blocks] == [4, 6] and model.config["depth"] == [4, 6]
    assert model(torch.rand(2, 1, 8, 8)).shape == (2, 10)


def _accuracy_across_prolongation(dataset, arch, depth):
    from stablenet.train import TrainConfig, evaluate, train
    from stablenet.train.setup import load_data

    config = TrainConfig(dataset=dataset, arch=arch, depth=depth, T=10.0, epochs=8)
    model, data = train(config).model, load_data(config)
    before = evaluate(model, data.x_val, data.y_val).accuracy
    return before, evaluate(prolong_model(model), data.x_val, data.y_val).accuracy


@pytest.mark.parametrize("dataset, arch, depth", [
    ("swissroll", "leapfrog", 128),
    pytest.param("ellipses", "hamiltonian", 256, marks=pytest.mark.slow),
])
def test_prolonging_trained_weights_keeps_the_accuracy(dataset, arch, depth):
    """Trained from the smooth default K(t) with the time-smoothness penalty, a network that
    resolves its ODE (h |lambda| small) keeps its function when the depth doubles: the
    validation accuracy changes by at most 1 point (measured: 0.0 and -0.25 points).

    At coarser depths the trained network is still far from its ODE and the change is large
    (swiss roll, N = 16 -> 32: -24 points Hamiltonian, -52 leapfrog); the antisymmetric
    network's forward-Euler growth |1 + i h w| per layer depends on h itself, so its function
    changes at every depth (swiss roll, N = 128 -> 256: 94.7% -> 67.3%). docs/depth.md."""
    before, after = _accuracy_across_prolongation(dataset, arch, depth)
    assert before > 0.95  # trained: a change would show
    assert abs(after - before) <= 0.01
