"""sensitivity(): power iteration vs SVD, and perturbation growth of linear networks."""

from __future__ import annotations

import math

import pytest
import torch

import stablenet
from stablenet.analysis import sensitivity
from stablenet.analysis.network import analysis_copy


def per_sample_jacobians(block, x: torch.Tensor) -> torch.Tensor:
    """dY_N/dY_0 of each sample, by torch.autograd.functional.jacobian of block.forward."""
    net = analysis_copy(block)
    return torch.stack([
        torch.autograd.functional.jacobian(lambda v: net(v[None])[0], xi) for xi in x.double()
    ])


@pytest.mark.parametrize("net", [stablenet.HamiltonianNet, stablenet.ResNet,
                                 stablenet.LeapfrogNet])
def test_power_iteration_and_exact_match_svd_of_the_jacobian(net):
    torch.manual_seed(0)
    block = net(3, 6, 3.0)
    x = torch.randn(4, 3)
    sigma = torch.linalg.svdvals(per_sample_jacobians(block, x))[:, 0]
    power = sensitivity(block, x, method="power", n_power_iter=100)
    exact = sensitivity(block, x, method="exact")
    assert (power.method, exact.method) == ("power", "exact")
    torch.testing.assert_close(exact.worst, sigma, rtol=1e-10, atol=0)
    torch.testing.assert_close(power.worst, sigma, rtol=1e-6, atol=0)


def test_power_iteration_on_a_conv_block():
    torch.manual_seed(1)
    block = stablenet.ConvResNet(2, 3, 1.0)
    x = torch.randn(2, 2, 4, 4)
    J = per_sample_jacobians(block, x).reshape(2, 32, 32)
    sens = sensitivity(block, x)
    assert sens.method == "exact"  # m = 32 <= 64
    torch.testing.assert_close(sens.worst, torch.linalg.svdvals(J)[:, 0], rtol=1e-10, atol=0)
    power = sensitivity(block, x, method="power", n_power_iter=100)  # small gap: slow
    torch.testing.assert_close(power.worst, torch.linalg.svdvals(J)[:, 0], rtol=1e-6, atol=0)


def test_random_ratio_and_profile_of_a_scalar_linear_network():
    a, depth, T = 0.3, 20, 2.0  # K = a I, identity: Y_j = (1 + h a)^j Y_0 for every input
    block = stablenet.ResNet(3, depth, T, activation="identity",
                             init=(a * torch.eye(3)).expand(depth, 3, 3).clone())
    sens = sensitivity(block, torch.randn(5, 3), n_random=4)
    a = float(block.K.detach()[0, 0, 0])  # a as stored (float32)
    growth = (1 + T / depth * a) ** torch.arange(depth + 1, dtype=torch.float64)
    # finite differences of relative size 1e-6 in float64: ~1e-10 cancellation per step
    torch.testing.assert_close(sens.profile, growth, rtol=1e-8, atol=0)
    torch.testing.assert_close(sens.random, growth[-1].expand(4), rtol=1e-8, atol=0)
    torch.testing.assert_close(sens.worst, growth[-1].expand(5), rtol=1e-12, atol=0)


def test_linear_resnet_grows_like_exp_re_lambda_T():
    # K = [[a, -b], [b, a]] is normal with eigenvalues a +- i b, so the forward-Euler map
    # (I + h K)^N has singular values |1 + h lambda|^N exactly, and
    # N log|1 + h lambda| = T (a + h (b^2 - a^2) / 2 + O(h^2)): the rate is within
    # h (b^2 - a^2) / 2 (+ O(h^2)) = 1.9e-3 of a = 0.5; the test allows 1% of a.
    a, b, h, depth = 0.5, 1.0, 0.01, 1024
    T = h * depth
    K = torch.tensor([[a, -b], [b, a]])
    block = stablenet.ResNet(2, depth, T, activation="identity",
                             init=K.expand(depth, 2, 2).clone())
    sens = sensitivity(block, torch.randn(3, 2))
    discrete = abs(1 + h * complex(a, b)) ** depth
    torch.testing.assert_close(sens.worst, torch.full((3,), discrete, dtype=torch.float64),
                               rtol=1e-9, atol=0)
    torch.testing.assert_close(sens.random, torch.full((8,), discrete, dtype=torch.float64),
                               rtol=1e-6, atol=0)
    rate = math.log(sens.worst_max) / T
    assert abs(rate - a) <= 0.01 * a
    assert sens.worst_max > 1e2  # grew: e^{a T} = e^{5.12}


@pytest.mark.parametrize("net", [stablenet.HamiltonianNet, stablenet.LeapfrogNet])
def test_hamiltonian_and_leapfrog_stay_in_a_band_up_to_1024_layers(net):
    # Identity activation, constant K, h = 0.1: per singular direction (value w) both
    # recursions give y_j = cos((j + 1/2) theta) / cos(theta / 2) y_0 with
    # cos(theta) = 1 - h^2 w^2 / 2, so ||Y_j(x + d) - Y_j(x)|| / ||d|| <= 1 / cos(theta_max / 2)
    # = 1 / sqrt(1 - h^2 w_max^2 / 4) at every depth (here 1.0032). The parabolic network
    # with the same K leaves the band downwards (vanishing), the ResNet upwards.
    K = torch.randn(4, 4, generator=torch.Generator().manual_seed(1)) / 2
    depth, h = 1024, 0.1
    w_max = float(torch.linalg.svdvals(K.double()).max())
    assert h * w_max < 2
    upper, lower = 1 / math.sqrt(1 - (h * w_max) ** 2 / 4), 0.05
    x = torch.randn(8, 4, generator=torch.Generator().manual_seed(2))

    def profile(cls):
        block = cls(4, depth, depth * h, activation="identity",
                    init=K.expand(depth, 4, 4).clone())
        return sensitivity(block, x)

    sens = profile(net)
    assert sens.profile.max() <= upper * (1 + 1e-9) and sens.worst_max <= upper * (1 + 1e-9)
    assert sens.profile.min() >= lower
    assert profile(stablenet.ParabolicResNet).profile[-1] < lower
    assert profile(stablenet.ResNet).worst_max > upper


def test_model_gives_one_result_per_block():
    model = stablenet.build_model("hamiltonian", (1, 4, 4), 2, width=[2, 2], depth=2, T=1.0)
    result = sensitivity(model, torch.randn(3, 1, 4, 4))
    assert len(result) == 2 and all(r.worst.shape == (3,) for r in result)
    assert result[1].profile.shape == (3,)
