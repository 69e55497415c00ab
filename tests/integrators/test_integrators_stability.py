"""Stability regions (docs/theory.md 2): the margins, and that they predict the linear dynamics."""

from __future__ import annotations

import pytest
import torch

import stablenet
from stablenet.integrators import ForwardEuler, Leapfrog, Verlet


def test_forward_euler_margin_is_the_unit_disc_about_minus_one():
    margin = ForwardEuler().stability_margin(torch.tensor([-1.0, -2.0, 0.5, -0.5 + 0.5j]))
    torch.testing.assert_close(
        margin, torch.tensor([1.0, 0.0, -0.5, 1 - 0.5**0.5]), check_dtype=False
    )
    assert not ForwardEuler().is_stable(torch.tensor([0.1j]))  # |1 + i h w| > 1
    assert ForwardEuler().is_stable(torch.tensor([-1e-3 + 0.01j]))


@pytest.mark.parametrize("integrator", [Verlet(), Leapfrog()])
def test_imaginary_axis_margin(integrator):
    margin = integrator.stability_margin(torch.tensor([1.5j, -2.5j, 2.0j, 0.1 + 1j, -0.2]))
    assert margin[0].item() == pytest.approx(0.5)
    assert margin[1].item() == pytest.approx(-0.5)
    assert margin[2].item() == pytest.approx(0.0, abs=1e-12)
    assert margin[3].item() < 0 and margin[4].item() < 0  # off the axis: unstable


def scalar_block(block_type, K: torch.Tensor, depth: int, T: float):
    n = K.shape[0]
    return block_type(n, depth, T, activation="identity", init=K.expand(depth, n, n).clone())


@pytest.mark.parametrize("block_type", [stablenet.LeapfrogNet, stablenet.HamiltonianNet])
@pytest.mark.parametrize("h_w, bounded", [(1.9, True), (2.1, False)])
@torch.no_grad()
def test_oscillator_bounded_iff_h_w_at_most_two(float64, block_type, h_w, bounded):
    """y'' = -w^2 y (leapfrog, K = w) or y' = w z, z' = -w y (Verlet): eigenvalues +-i w."""
    depth, h = 400, 0.1
    w = h_w / h
    block = scalar_block(block_type, torch.tensor([[w]]), depth, depth * h)
    margin = block.integrator.stability_margin(torch.tensor([1j * h * w]))
    assert (margin.item() >= 0) == bounded
    traj = block(torch.ones(1, 1), return_trajectory=True)
    peak = traj.abs().max().item()
    assert (peak < 50) == bounded, peak


@torch.no_grad()
def test_damping_gamma_makes_forward_euler_stable(float64):
    """K0 = [[0, -w], [w, 0]]: forward Euler grows by sqrt(1 + h^2 w^2) per step; with the
    antisymmetric damping gamma chosen so that the margin is >= 0 it no longer grows."""
    depth, h, w = 200, 0.1, 1.0
    K0 = torch.tensor([[0.0, -w], [w, 0.0]])
    x = torch.tensor([[1.0, 0.0]])
    plain = scalar_block(stablenet.ResNet, K0, depth, depth * h)
    growth = plain(x).norm().item()
    assert growth == pytest.approx((1 + h**2 * w**2) ** (depth / 2), rel=1e-10)
    gamma = 0.2  # eigenvalues -0.1 +- i: |1 + h lambda|^2 = 0.99^2 + 0.01 < 1
    damped = stablenet.AntisymmetricResNet(
        2, depth, depth * h, gamma=gamma, activation="identity", init=K0.expand(depth, 2, 2)
    )
    lam = torch.linalg.eigvals(damped.weights()[0][0])
    assert damped.integrator.is_stable(h * lam)
    norms = damped(x, return_trajectory=True).norm(dim=-1).squeeze(-1)
    assert (norms[1:] <= norms[:-1] + 1e-15).all()
