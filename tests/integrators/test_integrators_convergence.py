"""Convergence order on linear test ODEs with known solutions (identity activation,
constant-in-time weights, zero bias), h = T / N halving from N = 16 to 256.

* forward Euler (ResNet, K = A) on y' = A y:                   y(t) = expm(t A) y0
* Verlet (Hamiltonian) on y' = K z, z' = -K^T y, z(0) = 0:     expm(t [[0, K], [-K^T, 0]])
* leapfrog on y'' = -K^T K y, y'(0) = 0:                       V cos(sqrt(Lambda) t) V^T y0

The step rules of Verlet and leapfrog have the declared order 2 when started from
consistent second-order data (z_0 = z(-h/2) for the staggered Verlet, y_{-1} = y(-h) for
leapfrog). The networks of docs/theory.md 3.3 / 3.4, however, start from z_0 = 0 and
y_{-1} = y_0: that start is an O(h) error in the initial (half-step) velocity, so the
blocks as specified converge with global order 1 to the solution with zero initial
velocity. Both facts are tested.
"""

from __future__ import annotations

import math

import pytest
import torch

import stablenet

NS = [16, 32, 64, 128, 256]
T, n = 1.0, 3


def slope(hs: list[float], errors: list[float]) -> float:
    """Least-squares slope of log(error) against log(h)."""
    x, y = torch.log(torch.tensor(hs)), torch.log(torch.tensor(errors))
    x, y = x - x.mean(), y - y.mean()
    return float((x * y).sum() / (x * x).sum())


@pytest.fixture
def problem(float64):
    gen = torch.Generator().manual_seed(0)
    A = torch.randn(n, n, generator=gen) / math.sqrt(n)
    y0 = torch.randn(2, n, generator=gen)
    return A, y0


def constant(block_type, A, N):
    return block_type(n, N, T, activation="identity", init=A.expand(N, n, n).clone())


def hamiltonian_flow(A, t):
    M = torch.zeros(2 * n, 2 * n)
    M[:n, n:], M[n:, :n] = A, -A.T
    return torch.linalg.matrix_exp(t * M)  # acts on columns (y, z)


def leapfrog_exact(A, y0, t):
    lam, V = torch.linalg.eigh(A.T @ A)
    return (y0 @ V) * torch.cos(lam.sqrt() * t) @ V.T


def run_steps(block, state):
    K, b = block.weights()
    for j in range(block.depth):
        state = block.integrator.step(block.field, (K[j], b[j]), block.h, state)
    return state


@torch.no_grad()
def test_forward_euler_order(problem):
    A, y0 = problem
    exact = y0 @ torch.linalg.matrix_exp(T * A).T
    blocks = [constant(stablenet.ResNet, A, N) for N in NS]
    errors = [(blk(y0) - exact).norm().item() for blk in blocks]
    assert slope([T / N for N in NS], errors) == pytest.approx(blocks[0].integrator.order, abs=0.1)


@torch.no_grad()
def test_verlet_step_order_with_staggered_start(problem):
    A, y0 = problem
    yz0 = torch.cat([y0, torch.zeros_like(y0)], dim=1)
    exact = (yz0 @ hamiltonian_flow(A, T).T)[:, :n]
    errors, order = [], None
    for N in NS:
        block = constant(stablenet.HamiltonianNet, A, N)
        z_half = (yz0 @ hamiltonian_flow(A, -block.h / 2).T)[:, n:]  # z(-h/2)
        errors.append((run_steps(block, (z_half, y0))[1] - exact).norm().item())
        order = block.integrator.order
    assert slope([T / N for N in NS], errors) == pytest.approx(order, abs=0.1)


@torch.no_grad()
def test_leapfrog_step_order_with_exact_start(problem):
    A, y0 = problem
    exact = leapfrog_exact(A, y0, T)
    errors, order = [], None
    for N in NS:
        block = constant(stablenet.LeapfrogNet, A, N)
        y_prev = leapfrog_exact(A, y0, -block.h)  # y(-h)
        errors.append((run_steps(block, (y_prev, y0))[1] - exact).norm().item())
        order = block.integrator.order
    assert slope([T / N for N in NS], errors) == pytest.approx(order, abs=0.1)


@torch.no_grad()
def test_paper_start_gives_first_order_blocks(problem):
    """z_0 = 0 (Verlet) and y_{-1} = y_0 (leapfrog) as specified: global order 1."""
    A, y0 = problem
    hs = [T / N for N in NS]
    yz0 = torch.cat([y0, torch.zeros_like(y0)], dim=1)
    exact_h = (yz0 @ hamiltonian_flow(A, T).T)[:, :n]
    err_h = [(constant(stablenet.HamiltonianNet, A, N)(y0) - exact_h).norm().item() for N in NS]
    exact_l = leapfrog_exact(A, y0, T)
    err_l = [(constant(stablenet.LeapfrogNet, A, N)(y0) - exact_l).norm().item() for N in NS]
    assert slope(hs, err_h) == pytest.approx(1.0, abs=0.1)
    assert slope(hs, err_l) == pytest.approx(1.0, abs=0.1)
