"""Free and antisymmetric parametrisations of K (docs/theory.md 3.2, 3.6)."""

from __future__ import annotations

import pytest
import torch

import stablenet
from stablenet.errors import ConfigError, ConfigTypeError
from stablenet.layers import Antisymmetric, Conv, Dense, Free


def materialise(op: Conv, K: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """The matrix of the applied convolution on images of ``shape``, through basis vectors."""
    n = shape[0] * shape[1] * shape[2]
    return op.apply(K, torch.eye(n).reshape(n, *shape)).reshape(n, n).T


@pytest.mark.parametrize("gamma", [0.0, 2e-4, 0.3])
def test_dense_antisymmetric_spectrum(float64, gamma):
    """Eigenvalues of 1/2 (K - K^T - gamma I) have real part exactly -gamma/2."""
    gen = torch.Generator().manual_seed(1)
    K = torch.randn(4, 6, 6, generator=gen)
    A = Antisymmetric(gamma)(K, Dense(6))
    torch.testing.assert_close(A, 0.5 * (K - K.transpose(1, 2) - gamma * torch.eye(6)))
    eig = torch.linalg.eigvals(A)
    torch.testing.assert_close(eig.real, torch.full((4, 6), -gamma / 2), rtol=0, atol=1e-12)
    assert eig.imag.abs().max() > 0.5  # K - K^T has a nontrivial imaginary spectrum


@pytest.mark.parametrize("gamma", [0.0, 0.3])
def test_conv_antisymmetric_spectrum(float64, gamma):
    """Materialised on a 2-channel 4x4 image, the operator is 1/2 (M - M^T) - gamma/2 I."""
    gen = torch.Generator().manual_seed(2)
    op = Conv(2)
    K = torch.randn(op.weight_shape, generator=gen)
    M = materialise(op, K, (2, 4, 4))
    A = materialise(op, Antisymmetric(gamma)(K, op), (2, 4, 4))
    torch.testing.assert_close(A, 0.5 * (M - M.T) - 0.5 * gamma * torch.eye(32), rtol=0,
                               atol=1e-12)
    eig = torch.linalg.eigvals(A)
    torch.testing.assert_close(eig.real, torch.full((32,), -gamma / 2), rtol=0, atol=1e-12)
    assert eig.imag.abs().max() > 0.5


def test_block_weights_apply_the_parametrisation(float64):
    block = stablenet.AntisymmetricResNet(3, 4, 1.0, gamma=0.1)
    A, b = block.weights()
    K = block.K.detach()
    torch.testing.assert_close(A, 0.5 * (K - K.transpose(1, 2)) - 0.05 * torch.eye(3))
    assert b is block.b
    free = stablenet.ResNet(3, 4, 1.0)
    assert free.weights()[0] is free.K
    assert Free()(K, Dense(3)) is K


def test_default_gamma_is_two_over_T_at_every_depth():
    """gamma = 2 / T by default (blocks, build_model, training): a feature of the linearised
    ODE shrinks by e^{-gamma T / 2} = 1/e over [0, T], and the network at depth 2N is a
    refinement of the one at depth N (gamma does not depend on h)."""
    from stablenet.layers import PAPER_GAMMA, default_gamma
    from stablenet.train import TrainConfig, resolve

    for T in (0.5, 2.0, 10.0):
        assert default_gamma(T) == pytest.approx(2.0 / T)
        gammas = {stablenet.AntisymmetricResNet(3, n, T).parametrization.gamma
                  for n in (4, 8, 64)}
        assert gammas == {default_gamma(T)}
    model = stablenet.build_model("antisymmetric", (2,), 2, 4, 8, 5.0)
    assert model.config["gamma"] == model.block.parametrization.gamma == 0.4
    assert resolve(TrainConfig(dataset="peaks", T=4.0), False, 2).gamma == 0.5
    assert resolve(TrainConfig(dataset="peaks", gamma=PAPER_GAMMA), False, 2).gamma == 2e-4
    with pytest.raises(ConfigError, match="T"):
        default_gamma(0.0)


def test_antisymmetric_without_gamma_takes_the_blocks_default(float64):
    """``Antisymmetric()`` handed to a StableBlock becomes gamma = 2 / T (a resolved copy,
    the caller's object unchanged); applied on its own it says what is missing."""
    from stablenet.blocks import StableBlock
    from stablenet.integrators import ForwardEuler
    from stablenet.layers import Plain

    unset = Antisymmetric()
    block = StableBlock(Plain(Dense(3)), ForwardEuler(), 4, 5.0, parametrization=unset)
    assert block.parametrization.gamma == pytest.approx(0.4) and unset.gamma is None
    K = block.K.detach()
    torch.testing.assert_close(block.weights()[0],
                               0.5 * (K - K.transpose(1, 2)) - 0.2 * torch.eye(3))
    given = Antisymmetric(0.3)
    assert StableBlock(Plain(Dense(3)), ForwardEuler(), 4, 5.0,
                       parametrization=given).parametrization is given
    assert repr(unset) == "Antisymmetric(gamma=2/T)"
    with pytest.raises(ConfigError, match="without gamma"):
        unset(K, Dense(3))


@pytest.mark.parametrize("gamma, error", [(-1e-3, ConfigError), (float("nan"), ConfigError),
                                          (float("inf"), ConfigError), ("0.1", ConfigTypeError),
                                          (True, ConfigTypeError)])
def test_bad_gamma_raises(gamma, error):
    with pytest.raises(error, match="gamma"):
        Antisymmetric(gamma)
    with pytest.raises(error, match="gamma"):
        stablenet.AntisymmetricResNet(2, 3, 1.0, gamma=gamma)
