"""Reversible memory mode: gradients equal ordinary autograd, drift guard, O(1) memory."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings

import pytest
import torch

import stablenet as sn
from stablenet.blocks import StableBlock
from stablenet.integrators import Leapfrog, Verlet
from stablenet.layers import Antisymmetric, Conv, Dense, Gradient, Plain
from stablenet.memory import Reversible
from stablenet.memory import reversible as rev

F64 = torch.float64


def _dense(cls, bias):
    return cls(5, 11, 4.0, bias=bias), (6, 5)


def _conv(cls, bias):
    return cls(3, 5, 2.0, bias=bias), (2, 3, 5, 4)


def _antisym_leapfrog(op):
    # not one of the named schemes: a plain field as a leapfrog force, antisymmetric K
    block = StableBlock(Plain(op), Leapfrog(), 9, 3.0, parametrization=Antisymmetric(0.1))
    return block


CASES = {
    "hamiltonian-scalar": lambda: _dense(sn.HamiltonianNet, "scalar"),
    "hamiltonian-feature": lambda: _dense(sn.HamiltonianNet, "feature"),
    "leapfrog-scalar": lambda: _dense(sn.LeapfrogNet, "scalar"),
    "leapfrog-feature": lambda: _dense(sn.LeapfrogNet, "feature"),
    "conv-hamiltonian-scalar": lambda: _conv(sn.ConvHamiltonianNet, "scalar"),
    "conv-hamiltonian-feature": lambda: _conv(sn.ConvHamiltonianNet, "feature"),
    "conv-leapfrog-scalar": lambda: _conv(sn.ConvLeapfrogNet, "scalar"),
    "conv-leapfrog-feature": lambda: _conv(sn.ConvLeapfrogNet, "feature"),
    "antisymmetric-leapfrog-dense": lambda: (_antisym_leapfrog(Dense(4)), (5, 4)),
    "antisymmetric-leapfrog-conv": lambda: (_antisym_leapfrog(Conv(2)), (2, 2, 4, 4)),
    # Verlet on a non-partitioned force: the SecondOrder field, dy(z) = z has no weights
    "verlet-second-order": lambda: (StableBlock(Gradient(Dense(4)), Verlet(), 7, 2.0), (5, 4)),
}


def _setup(case, seed=0):
    torch.manual_seed(seed)
    block, shape = CASES[case]()
    block = block.to(F64)
    with torch.no_grad():
        block.b.normal_(0.0, 0.5)  # nonzero biases so their gradients are nontrivial
    return block, torch.randn(shape, dtype=F64)


def _grads(block, x, loss_of_state):
    """(out, state, dL/dx, dL/dK, dL/db) in the block's current memory mode."""
    block.zero_grad(set_to_none=True)
    x = x.clone().requires_grad_()
    out, state = block(x, return_state=True)
    loss_of_state(out, state).backward()
    return out.detach(), [s.detach() for s in state], x.grad, block.K.grad, block.b.grad


def _loss_output(out, state):
    return (out**2).sum() + torch.sin(out).sum()


def _loss_full_state(out, state):
    # cotangents reach every component of the final state (z_N or y_{N-1} as well)
    return sum(((i + 1) * torch.tanh(s)).sum() for i, s in enumerate(state)) + out.sum()


@pytest.mark.parametrize("loss", [_loss_output, _loss_full_state], ids=["y_N", "full-state"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_reversible_gradients_equal_autograd_float64(case, loss):
    block, x = _setup(case)
    ref = _grads(block, x, loss)
    block.set_memory("reversible")
    got = _grads(block, x, loss)
    assert torch.equal(got[0], ref[0])  # the same loop runs forward: identical values
    for g, r in zip(got[2:], ref[2:], strict=True):
        assert g.abs().max() > 0
        torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-10)
    assert 0 <= block.last_drift < 1e-12


@pytest.mark.parametrize("case", ["hamiltonian-feature", "leapfrog-scalar", "verlet-second-order"])
def test_generic_adjoint_rule_equals_autograd(case, monkeypatch):
    """The generic inverse_step + recompute rule (used by other invertible integrators)."""
    block, x = _setup(case)
    ref = _grads(block, x, _loss_full_state)
    monkeypatch.setattr(rev, "ADJOINT_STEPS", {})
    block.set_memory("reversible")
    got = _grads(block, x, _loss_full_state)
    for g, r in zip(got[2:], ref[2:], strict=True):
        torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-10)


def test_antisymmetric_parametrisation_is_differentiated_outside():
    """dL/dK_free goes through K_eff = 1/2 (K - K^T - gamma I): its gradient is antisymmetric."""
    block, x = _setup("antisymmetric-leapfrog-dense")
    block.set_memory("reversible")
    gK = _grads(block, x, _loss_output)[3]
    torch.testing.assert_close(gK, -gK.transpose(-1, -2), rtol=0, atol=1e-14)


@pytest.mark.parametrize("cls", [sn.LeapfrogNet, sn.HamiltonianNet])
def test_depth_one_and_input_without_grad(cls):
    torch.manual_seed(1)
    block = cls(3, 1, 0.7).to(F64)
    x = torch.randn(4, 3, dtype=F64)
    ref = torch.autograd.grad(block(x).square().sum(), block.K)[0]
    block.set_memory("reversible")
    out = block(x)
    assert out is not x
    got = torch.autograd.grad(out.square().sum(), block.K)[0]
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)


def test_trajectory_and_no_grad_use_the_store_loop():
    block, x = _setup("leapfrog-feature")
    traj_ref = block(x, return_trajectory=True)
    block.set_memory("reversible")
    traj = block(x.requires_grad_(), return_trajectory=True)
    assert torch.equal(traj, traj_ref) and traj.grad_fn is not None
    assert "Reversible" not in type(traj.grad_fn).__name__
    with torch.no_grad():
        assert torch.equal(block(x), traj_ref[-1])


def test_autocast_does_not_reach_the_reconstruction():
    """Under bfloat16 autocast the reversible pass still runs (and reconstructs) in float32."""
    torch.manual_seed(0)
    block, x = sn.HamiltonianNet(6, 32, 4.0), torch.randn(5, 6)
    ref = torch.autograd.grad(block(x).square().sum(), block.K)[0]
    block.set_memory("reversible")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = block(x)
    assert out.dtype == torch.float32
    got = torch.autograd.grad(out.square().sum(), block.K)[0]
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-6)


def _ill_conditioned():
    """A float32 leapfrog block (i.i.d. N(0, 1/8) weights per layer, h = 0.5 over 128 layers)
    whose reconstruction drifts by 2e-3 to 6e-3 (float64: ~1e-12), a float64 twin with the
    same weights, an input, and a cotangent for the output."""
    torch.manual_seed(0)
    block = sn.LeapfrogNet(8, 128, 64.0, init=lambda K: K.normal_(0.0, 8**-0.5))
    twin = sn.LeapfrogNet(8, 128, 64.0).to(F64)
    twin.load_state_dict(block.state_dict())
    x = torch.randn(8, 8)
    return block, twin, x, torch.randn(8, 8)


def _rel(a, b):
    return float((a.to(F64) - b).norm() / b.norm())


def test_drift_guard_recomputes_in_float64():
    """What the guard buys, against the exact (float64) vector-Jacobian product with the same
    cotangent, so that only the backward pass's own error is measured.

    The margins hold on every CPU kernel set (measured over 8 seeds with
    ATEN_CPU_CAPABILITY=default, avx2, avx512): unguarded, the gradient's relative error is of
    the order of the drift (0.7x to 3.4x it, drift >= 1.6e-3); ordinary float32 backprop
    through this chaotic block is off by 1e-4 to 2e-3; guarded (the pass redone in float64,
    then rounded to float32) by 2.5e-8, float32 rounding."""
    block, twin, x, cot = _ill_conditioned()
    ref = torch.autograd.grad(twin(x.to(F64)), twin.K, cot.to(F64))[0]
    store = torch.autograd.grad(block(x), block.K, cot)[0]
    block.set_memory(Reversible(drift_tol=math.inf))  # guard off: the drift shows
    unguarded = torch.autograd.grad(block(x), block.K, cot)[0]
    drift = block.last_drift
    assert drift > 1e-4
    assert 0.1 * drift < _rel(unguarded, ref) < 10 * drift
    block.set_memory(Reversible(drift_tol=1e-5))  # guard on: redo in float64, with a warning
    with pytest.warns(RuntimeWarning, match="float64"):
        guarded = torch.autograd.grad(block(x), block.K, cot)[0]
    assert guarded.dtype == torch.float32
    assert _rel(guarded, ref) < 1e-6
    assert _rel(guarded, ref) < 0.01 * _rel(store, ref)


def test_drift_above_tolerance_in_float64_warns():
    block, x = _setup("leapfrog-scalar")
    block.set_memory(Reversible(drift_tol=0.0))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        block(x).sum().backward()
    assert block.last_drift > 0
    assert any("even in float64" in str(w.message) for w in caught)


# ---- peak memory of a fresh process (no timing) ----

_CHILD = """
import ctypes, json, sys, torch
import stablenet as sn
torch.set_num_threads(1)
try:  # glibc: mmap every tensor >= 16 KiB, so the RSS follows live memory (no fragmentation)
    ctypes.CDLL("libc.so.6").mallopt(-3, 16384)
except (OSError, AttributeError):
    pass
mode, depth = sys.argv[1], int(sys.argv[2])
sn.HamiltonianNet(16, 2, 1.0, memory=mode)(torch.randn(2, 16, requires_grad=True)).sum().backward()
block = sn.HamiltonianNet(16, depth, 0.05 * depth, memory=mode)
x = torch.randn(1024, 16, requires_grad=True)
try:  # Linux: reset the peak to the current RSS (import transients do not count)
    open("/proc/self/clear_refs", "w").write("5")
except OSError:
    pass
def status_kib(key):
    try:
        for line in open("/proc/self/status"):
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None
# VmHWM, not ru_maxrss: ru_maxrss also counts the forked image of the parent before exec
# (a large pytest process), so it can hide the child's own peak entirely.
before, rss = status_kib("VmHWM"), status_kib("VmRSS")
reset_ok = before is not None and rss is not None and before - rss < 4096  # peak was reset
block(x).square().sum().backward()
after = status_kib("VmHWM") if reset_ok else 0
print(json.dumps([(after - before) / 1024, reset_ok]))
"""


def _peak_growth_mb(mode, depth):
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, mode, str(depth)],
        capture_output=True, text=True, check=True, timeout=300,
    )
    growth, reset_ok = json.loads(out.stdout.strip().splitlines()[-1])
    if not reset_ok:
        pytest.skip("this kernel cannot reset the peak RSS (/proc/self/clear_refs)")
    return growth


def test_reversible_peak_memory_does_not_grow_with_depth():
    """Width 16, batch 1024: one state is 64 KiB and store mode keeps about 4 per layer, so
    512 layers need ~110 MiB more than 64; the weights (1 KiB a layer) hardly matter.
    Reversible mode keeps O(1) states: its peak must not grow."""
    store = _peak_growth_mb("store", 512) - _peak_growth_mb("store", 64)
    reversible = _peak_growth_mb("reversible", 512) - _peak_growth_mb("reversible", 64)
    assert store > 50
    assert reversible < 0.05 * store
