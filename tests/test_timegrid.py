"""Weights as functions of time (stablenet.timegrid): the default K(t) does not depend on N."""

from __future__ import annotations

import math

import pytest
import torch

import stablenet as sn
from stablenet.timegrid import (
    IID,
    Constant,
    Smooth,
    get_init,
    interpolate_in_time,
    layer_times,
    smoothness_norm,
)


def _block(arch, depth, T=3.0, conv=False, init=None, seed=0):
    torch.manual_seed(seed)
    kw = {} if init is None else {"init": init}
    return sn.build_block(arch, 3, depth, T, conv=conv, **kw)


@pytest.mark.parametrize("conv", [False, True], ids=["dense", "conv"])
@pytest.mark.parametrize("init", [None, "smooth", "constant"])
def test_depth_2n_is_a_refinement_of_depth_n(init, conv):
    """Same seed: the even layers of the 2N-layer block hold the N-layer block's weights."""
    for depth in (1, 4, 16):
        coarse = _block("hamiltonian", depth, conv=conv, init=init).K.detach()
        fine = _block("hamiltonian", 2 * depth, conv=conv, init=init).K.detach()
        torch.testing.assert_close(fine[::2], coarse, rtol=0, atol=1e-7)


def test_iid_is_white_noise_and_not_a_refinement():
    coarse = _block("resnet", 8, init="iid").K.detach()
    fine = _block("resnet", 16, init="iid").K.detach()
    assert (fine[::2] - coarse).abs().max() > 0.1


def test_smooth_sample_is_its_formula(float64):
    """K(t_j) = K_0 + a sum_k K_k cos(k pi t_j / T), coefficients drawn K_0, K_1, ... in order."""
    init, T, depth, std = Smooth(modes=3, amplitude=0.4), 2.5, 7, 0.3
    torch.manual_seed(5)
    got = init.sample(depth, T, (2, 2), std)
    torch.manual_seed(5)
    coeffs = torch.randn(4, 2, 2, dtype=torch.float64) * std
    for j in range(depth):
        t = j * T / depth
        expected = coeffs[0] + 0.4 * sum(coeffs[k] * math.cos(k * math.pi * t / T)
                                         for k in (1, 2, 3))
        torch.testing.assert_close(got[j], expected, rtol=1e-12, atol=1e-14)


def test_constant_gives_every_layer_the_same_operator():
    K = _block("leapfrog", 9, init="constant").K.detach()
    assert torch.equal(K, K[:1].expand_as(K))
    assert 0.2 < float(K[0].std()) * math.sqrt(3) < 2.0  # std 1/sqrt(fan_in), fan_in = 3


def test_smoothness_penalty_at_initialisation_is_bounded_in_depth(float64):
    """Smooth: 1/(2h) sum |K_{j+1} - K_j|^2 <= 1/2 int |K'|^2 (Cauchy-Schwarz on each step) and
    converges to it; i.i.d.: grows like N^2 / T."""
    T, std, a = 4.0, 0.5, 0.3
    init = Smooth(modes=2, amplitude=a)
    torch.manual_seed(0)
    c = torch.randn(3, 3, 3, dtype=torch.float64) * std  # the coefficients sample() draws
    exact = a**2 * math.pi**2 / (4 * T) * sum(k**2 * float(c[k].pow(2).sum()) for k in (1, 2))
    values = []
    for depth in (16, 64, 256, 1024):
        torch.manual_seed(0)
        values.append(float(smoothness_norm(init.sample(depth, T, (3, 3), std), T / depth)))
    assert all(v <= exact * (1 + 1e-12) for v in values)
    assert abs(values[-1] - exact) < 0.01 * exact
    iid = [float(smoothness_norm(IID().sample(d, T, (3, 3), std), T / d)) for d in (16, 256)]
    assert iid[1] / iid[0] > 100  # (256 / 16)^2 = 256 in expectation


def test_prolonging_the_default_block_matches_the_deeper_default_block(float64):
    """For the smooth default, prolongation and a fresh draw at 2N differ by O(h^2) only."""
    errors = []
    for depth in (8, 16, 32):
        fine = _block("hamiltonian", 2 * depth).K.detach()
        prolonged = interpolate_in_time(_block("hamiltonian", depth).K.detach(), 2 * depth)
        errors.append(float((prolonged - fine)[:-1].abs().max()))  # the last node is held
    assert errors[1] < errors[0] / 3 and errors[2] < errors[1] / 3, errors


def test_layer_times_and_names():
    torch.testing.assert_close(layer_times(4, 2.0), torch.tensor([0.0, 0.5, 1.0, 1.5],
                                                                  dtype=torch.float64))
    assert isinstance(get_init("constant"), Constant) and isinstance(get_init("iid"), IID)
    with pytest.raises(sn.ConfigError, match="unknown init 'white'.*constant"):
        sn.HamiltonianNet(4, 3, 1.0, init="white")
    with pytest.raises(sn.ConfigError, match="amplitude"):
        Smooth(amplitude=-1.0)
    block = sn.HamiltonianNet(4, 3, 1.0, init=Smooth(modes=1, amplitude=0.0))
    assert torch.equal(block.K, block.K[:1].expand_as(block.K))
