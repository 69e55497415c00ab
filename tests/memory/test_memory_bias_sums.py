"""The deferred bias sums of the written adjoint (memory/bias_sums.py).

A dense VJP writes u = sigma'(a) g into a slot of a ring and the ring is reduced once full;
these tests make the ring fill and wrap (depth > slots), with one and two slots per layer
(Verlet), both bias modes, widths whose rows are and are not whole 64-byte lines (the
fused ``addmm_`` accumulation and the plain one), against autograd through the loop.
"""

from __future__ import annotations

import pytest
import torch
from test_memory_adjoint import INVERTIBLE, assert_same_gradients, autograd_twin

from stablenet.layers import Conv, Dense, Gradient, Hamiltonian, Plain
from stablenet.memory import Checkpoint, Reversible, Store, bias_sums
from stablenet.memory.bias_sums import BiasSums
from stablenet.memory.grads import SlotGrads, WeightGrads
from stablenet.schemes import DENSE_BLOCKS

F64 = torch.float64


@pytest.fixture
def ring_use(monkeypatch):
    """The (ring slots, slots lent, full rings reduced) of every ``BiasSums.total``."""
    seen = []
    total = BiasSums.total

    def spy(self):
        seen.append((self.m, len(self.layers), len(self.parts)))
        return total(self)

    monkeypatch.setattr(BiasSums, "total", spy)
    return seen


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("bias", ["scalar", "feature"])
@pytest.mark.parametrize("width", [4, 8], ids=["rows-not-lines", "rows-whole-lines"])
@pytest.mark.parametrize(("arch", "mode"), [
    pytest.param(arch, mode, id=f"{arch}-{mode!r}") for arch in sorted(DENSE_BLOCKS)
    for mode in (Store(), Checkpoint(5), Reversible())
    if arch in INVERTIBLE or not isinstance(mode, Reversible)
])
def test_deferred_bias_sums_give_autograds_gradients(arch, mode, width, bias, activation,
                                                      ring_use):
    depth = 37  # > 16 slots (the most a ring has): rings fill, wrap, and end part-full
    torch.manual_seed(1)
    block = DENSE_BLOCKS[arch](width, depth, 1.5, activation=activation, bias=bias,
                               memory=mode).to(F64)
    with torch.no_grad():
        block.b.normal_(0.0, 0.5)
    assert_same_gradients(block, autograd_twin(block, activation), torch.randn(6, width,
                                                                               dtype=F64))
    (m, slots, full), = ring_use  # the twin (autograd's loop) lends none
    per_layer = 2 if arch == "hamiltonian" else 1
    assert slots == per_layer * depth and full == (slots - 1) // m >= 2


def _direct_sums(us, layers, scales, depth, per_feature):
    db = torch.zeros((depth, us[0].shape[-1]) if per_feature else (depth,), dtype=F64)
    for u, j, c in zip(us, layers, scales, strict=True):
        db[j] += c * (u.sum(0) if per_feature else u.sum())
    return db


@pytest.mark.parametrize("fold", [1, 2, 64])
@pytest.mark.parametrize("order", ["sweep", "other"])
@pytest.mark.parametrize("per_feature", [False, True], ids=["scalar", "feature"])
@pytest.mark.parametrize("per_layer", [1, 2, 3])
def test_total_is_the_scaled_sum_of_each_layers_slots(per_feature, per_layer, order, fold,
                                                      monkeypatch):
    """db_j = sum over the slots i of layer j of scale_i sum(u_i), for any number of slots
    per layer, layers in the sweeps' order (N-1 down to 0) or another, one step size or
    several, a ring that wraps several times (budget: 3 slots), and the full rings' sums
    folded into db every ``fold`` rings."""
    monkeypatch.setattr(bias_sums, "FOLD", fold)
    gen = torch.Generator().manual_seed(0)
    depth, like = 7, torch.empty(5, 4, dtype=F64)
    sums = BiasSums(depth, per_feature, budget=3 * like.numel() * like.element_size())
    us, layers, scales = [], [], []
    for j in (range(depth - 1, -1, -1) if order == "sweep" else [3, 0, 6, 1, 5, 2, 4]):
        for k in range(per_layer):
            u, uT, _ = sums.slot(like, j, 0.5 - k)
            u.copy_(torch.randn(like.shape, generator=gen, dtype=F64))
            assert torch.equal(uT, u.T)
            us.append(u.clone()), layers.append(j), scales.append(0.5 - k)
    assert sums.m == 3
    torch.testing.assert_close(sums.total(), _direct_sums(us, layers, scales, depth,
                                                          per_feature), rtol=1e-14, atol=1e-14)


def test_no_slot_for_what_it_cannot_sum():
    like = torch.empty(5, 4)
    assert BiasSums(3, False, budget=like.numel() * like.element_size()).slot(like, 0, 1.0) is None
    assert BiasSums(3, False).slot(torch.empty(2, 5, 4), 0, 1.0) is None  # not a 2-D batch
    sums = BiasSums(3, False)
    assert sums.slot(like, 2, 1.0) is not None
    assert sums.slot(torch.empty(6, 4), 1, 1.0) is None  # another shape: summed directly
    assert sums.slot(like.double(), 1, 1.0) is None  # another dtype


@pytest.mark.parametrize("grads_type", ["weight", "slot"])
def test_stacks_add_deferred_and_direct_terms(grads_type):
    """A layer whose term came through ``add`` and one whose came through a slot."""
    K, b = torch.zeros(2, 3, 3, dtype=F64), torch.zeros(2, 3, dtype=F64)
    grads = WeightGrads(2, b) if grads_type == "weight" else SlotGrads(2, K[0], b[0])
    u = torch.arange(12.0, dtype=F64).view(4, 3)
    grads.layer(0).add(2.0, torch.ones(3, 3, dtype=F64), u.sum(0))
    slot, _, _ = grads.layer(1).bias_slot(u, -1.0)
    slot.copy_(u)
    grads.layer(1).add(-1.0, torch.ones(3, 3, dtype=F64), None)
    _, db = grads.stacks(K, b)
    torch.testing.assert_close(db, torch.stack([2.0 * u.sum(0), -u.sum(0)]))


def test_only_dense_fields_with_a_writing_activation_defer():
    """tanh and relu write u into a slot; identity's u is g itself (nothing to write),
    convolutions get db from convolution_backward, a user's callable has no written VJP."""
    assert Plain(Dense(2), "tanh")._into is not None
    assert Gradient(Dense(2), "relu")._into is not None
    assert Hamiltonian(Dense(2), "identity")._into is None
    assert Plain(Conv(2), "tanh")._into is None
    assert Plain(Dense(2), lambda t: torch.tanh(t))._into is None


@pytest.mark.parametrize("bias", ["scalar", "feature"])
@pytest.mark.parametrize("mode", [Store(), Checkpoint(5), Reversible()], ids=repr)
def test_the_midpoint_rule_defers_its_bias_sums_too(mode, bias, ring_use):
    """A two-state integrator that carries its cotangents swapped (g_{y_{j-1}} = g_{y_{j+1}})."""
    depth = 37
    torch.manual_seed(2)
    block = DENSE_BLOCKS["antisymmetric"](8, depth, 1.5, bias=bias, memory=mode,
                                          integrator="midpoint").to(F64)
    with torch.no_grad():
        block.b.normal_(0.0, 0.5)
    assert_same_gradients(block, autograd_twin(block, "tanh"), torch.randn(6, 8, dtype=F64))
    (m, slots, full), = ring_use
    assert slots == depth and full == (slots - 1) // m >= 2
