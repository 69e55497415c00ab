"""Verlet and leapfrog steps are exactly invertible; forward Euler is not."""

from __future__ import annotations

import pytest
import torch

import stablenet
from stablenet import StableBlock
from stablenet.integrators import Leapfrog, Verlet
from stablenet.layers import Dense, Gradient

DEPTH = 1000


def randomised(block, seed):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        block.K.copy_(torch.randn(block.K.shape, generator=gen) / block.operator.fan_in**0.5)
        block.b.copy_(torch.randn(block.b.shape, generator=gen))
    return block


def initial_state(block, x):
    return block.integrator.init(x)


@pytest.mark.parametrize("block_type", [stablenet.HamiltonianNet, stablenet.LeapfrogNet])
@torch.no_grad()
def test_dense_inverse_recovers_input_at_depth_1000(float64, block_type):
    block = randomised(block_type(4, DEPTH, 20.0, bias="feature"), 0)
    x = torch.randn(5, 4, generator=torch.Generator().manual_seed(1))
    y_N, state = block(x, return_state=True)
    assert (y_N - x).abs().max() > 0.1  # the network moved the input
    recovered = block.inverse(state)
    for got, want in zip(recovered, initial_state(block, x), strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-10)


@pytest.mark.parametrize("block_type", [stablenet.ConvHamiltonianNet, stablenet.ConvLeapfrogNet])
@torch.no_grad()
def test_conv_inverse_recovers_input(float64, block_type):
    block = randomised(block_type(2, 100, 5.0, bias="feature"), 2)
    x = torch.randn(2, 2, 5, 5, generator=torch.Generator().manual_seed(3))
    y_N, state = block(x, return_state=True)
    assert (y_N - x).abs().max() > 0.1
    recovered = block.inverse(state)
    for got, want in zip(recovered, initial_state(block, x), strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-10)


@torch.no_grad()
def test_inverse_to_an_intermediate_layer(float64):
    block = randomised(stablenet.HamiltonianNet(3, 20, 2.0), 4)
    x = torch.randn(4, 3, generator=torch.Generator().manual_seed(5))
    traj, state = block(x, return_trajectory=True, return_state=True)
    z_k, y_k = block.inverse(state, stop=7)
    torch.testing.assert_close(y_k, traj[7], rtol=0, atol=1e-12)


@torch.no_grad()
def test_verlet_on_a_gradient_force_equals_leapfrog(float64):
    """Verlet on y'' = F(y) with z_0 = 0 gives y_1 = y_0 + h^2 F(y_0) and, since
    y_{j+1} - y_j = h z_{j+1}, y_{j+1} = 2 y_j - y_{j-1} + h^2 F(y_j): the leapfrog
    sequence with y_{-1} = y_0, state by state (up to round-off)."""
    leap = randomised(stablenet.LeapfrogNet(3, 30, 3.0, bias="feature"), 6)
    verlet = StableBlock(Gradient(Dense(3)), Verlet(), 30, 3.0, bias="feature")
    verlet.load_state_dict(leap.state_dict())
    x = torch.randn(4, 3, generator=torch.Generator().manual_seed(7))
    traj_v, (z_N, _) = verlet(x, return_trajectory=True, return_state=True)
    traj_l = leap(x, return_trajectory=True)
    assert (traj_l[-1] - x).abs().max() > 0.1
    torch.testing.assert_close(traj_v, traj_l, rtol=0, atol=1e-12)
    # and Verlet's z_N is the backward difference quotient (y_N - y_{N-1}) / h
    torch.testing.assert_close(z_N, (traj_l[-1] - traj_l[-2]) / leap.h, rtol=0, atol=1e-10)


def test_forward_euler_is_not_invertible():
    block = stablenet.ResNet(2, 3, 1.0)
    assert not block.integrator.invertible
    with pytest.raises(TypeError, match="not invertible"):
        block.inverse(block.integrator.init(torch.zeros(1, 2)))


def test_invertible_flags():
    assert Verlet().invertible and Leapfrog().invertible
    assert Verlet().state_names == ("z", "y") and Leapfrog().state_names == ("y_prev", "y")
