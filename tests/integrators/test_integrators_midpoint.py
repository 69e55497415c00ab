"""The midpoint rule y_{j+1} = y_{j-1} + 2 h f_j(y_j), y_{-1} = y_0: the update rule, its
inverse, its stability region (the segment |h lambda| < 1 of the imaginary axis) and its
convergence, on the antisymmetric field without damping."""

from __future__ import annotations

import math

import pytest
import torch

from stablenet.analysis import stability_margins
from stablenet.blocks import StableBlock
from stablenet.integrators import Midpoint
from stablenet.layers import Antisymmetric, Conv, Dense, Plain

F64 = torch.float64


def block(width=4, depth=12, T=3.0, activation="tanh", init=None, op=None, memory="store"):
    return StableBlock(Plain(op or Dense(width), activation), Midpoint(), depth, T,
                       parametrization=Antisymmetric(0.0), init=init, memory=memory).to(F64)


def randomised(blk, seed=0):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        blk.K.copy_(torch.randn(blk.K.shape, generator=gen, dtype=F64))
        blk.b.copy_(0.3 * torch.randn(blk.b.shape, generator=gen, dtype=F64))
    return blk


def test_the_block_is_the_midpoint_rule_written_out():
    blk = randomised(block())
    x = torch.randn(5, 4, dtype=F64)
    K, b = blk.weights()  # applied: 1/2 (K - K^T), gamma = 0
    h = blk.T / blk.depth
    y_prev, y = x, x
    for j in range(blk.depth):
        y_prev, y = y, y_prev + 2 * h * torch.tanh(y @ K[j].T + b[j])
    torch.testing.assert_close(blk(x), y, rtol=1e-14, atol=1e-14)
    torch.testing.assert_close(K, -K.transpose(1, 2), rtol=0, atol=0)


@pytest.mark.parametrize("op", [Dense(4), Conv(2)], ids=["dense", "conv"])
def test_reversible_mode_rebuilds_the_states(op):
    """Inverse steps from the end recover the start to round-off (float64), and the
    reversible mode's gradients are those of store mode."""
    shape = (3, 4) if isinstance(op, Dense) else (2, 2, 5, 5)
    x = torch.randn(shape, dtype=F64)
    stored = randomised(block(op=op, depth=40))
    rev = randomised(block(op=op, depth=40, memory="reversible"))
    state = stored.integrator.init(x)
    K, b = stored.weights()
    h = stored.T / stored.depth
    for j in range(stored.depth):
        state = stored.integrator.step(stored.field, (K[j], b[j]), h, state)
    for j in reversed(range(stored.depth)):
        state = stored.integrator.inverse_step(stored.field, (K[j], b[j]), h, state)
    for s in state:
        torch.testing.assert_close(s, x, rtol=0, atol=1e-12)
    for blk in (stored, rev):
        blk(x).square().sum().backward()
    torch.testing.assert_close(rev.K.grad, stored.K.grad, rtol=1e-9, atol=1e-11)


def test_stability_margin_is_the_root_condition():
    """margin >= 0 exactly where both roots of xi^2 - 2 z xi - 1 = 0 have |xi| <= 1
    (z = h lambda; a grid of the complex plane, and the imaginary axis itself)."""
    re = torch.arange(-20, 21, dtype=F64) / 40  # exactly 0 in the middle
    im = torch.linspace(-1.5, 1.5, 61, dtype=F64)
    z = torch.complex(re[:, None].expand(41, 61), im[None, :].expand(41, 61)).flatten()
    z = torch.cat([z, torch.complex(torch.zeros_like(im), im)])
    disc = torch.sqrt(z * z + 1)
    roots = torch.stack([z + disc, z - disc]).abs().max(dim=0).values
    margin = Midpoint().stability_margin(z)
    on_axis = z.real == 0
    inside = (roots <= 1 + 1e-12) & (z.abs() < 1)  # |h w| = 1: a double root, linear growth
    assert torch.equal(margin[on_axis] > 0, inside[on_axis])
    assert (margin[~on_axis] < 0).all() and (roots[~on_axis] > 1).all()


def linear(W: torch.Tensor, N: int, T: float):
    """The midpoint block on y' = W y (identity activation, constant antisymmetric W)."""
    K = W.expand(N, *W.shape).clone()  # K - K^T = 2 W for antisymmetric W
    blk = block(width=W.shape[0], depth=N, T=T, activation="identity", init=K)
    with torch.no_grad():
        blk.b.zero_()
    return blk


@pytest.fixture
def rotation():
    gen = torch.Generator().manual_seed(1)
    A = torch.randn(4, 4, generator=gen, dtype=F64)
    W = (A - A.T) / 2
    return W, float(torch.linalg.eigvals(W).abs().max())


def test_inside_the_segment_the_flow_keeps_norms_and_outside_it_grows(rotation):
    W, w = rotation
    x = torch.randn(6, 4, dtype=F64)
    T = 200.0 / w  # many turns
    inside, outside = linear(W, math.ceil(T * w / 0.5), T), linear(W, math.ceil(T * w / 1.5), T)
    assert stability_margins(inside).stable and not stability_margins(outside).stable
    ratio = lambda blk: float(blk(x).detach().norm() / x.norm())  # noqa: E731
    assert 0.5 < ratio(inside) < 2.0  # an orthogonal flow, kept to O(h) over 200 radians
    assert ratio(outside) > 1e6


def test_antisymmetric_spectra_at_data_are_imaginary_so_the_check_passes():
    """diag(sigma') W is similar to an antisymmetric matrix: no damping needed."""
    blk = randomised(block(width=6, depth=8, T=1.0))
    with torch.no_grad():
        blk.K.mul_(0.5)
    margins = stability_margins(blk, torch.randn(4, 6, dtype=F64))
    assert margins.stable and margins.min_margin > 0
    assert float(margins.eigenvalues.real.abs().max()) < 1e-10


def test_the_block_converges_at_first_order_from_its_start(rotation):
    W, _ = rotation
    y0 = torch.randn(2, 4, dtype=F64)
    exact = y0 @ torch.linalg.matrix_exp(W).T
    errors = [float((linear(W, N, 1.0)(y0).detach() - exact).norm()) for N in (32, 64, 128, 256)]
    rates = [a / b for a, b in zip(errors, errors[1:], strict=False)]
    assert all(1.8 < r < 2.2 for r in rates), rates  # y_{-1} = y_0: an O(h) start
