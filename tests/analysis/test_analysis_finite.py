"""Every analysis checks weights and inputs for finite values first (NaN reaching LAPACK
crashes the process), names the bad tensor, and treats what overflows as unmeasurable,
never as stable; modules that merely contain stable blocks are analysed block by block."""

from __future__ import annotations

import copy
import math

import pytest
import torch

import stablenet
from stablenet.analysis import (
    check_stability,
    gradient_norms,
    sensitivity,
    spectra,
    stability_margins,
)
from stablenet.analysis.linalg import finite_eigvals, spectral_norms
from stablenet.analysis.margins import BlockMargins
from stablenet.analysis.report import analyze
from stablenet.errors import ConfigError, ConfigTypeError, NonFiniteError

ENTRY_POINTS = [
    lambda m, x: spectra(m), lambda m, x: spectra(m, x), lambda m, x: stability_margins(m),
    lambda m, x: check_stability(m, x), lambda m, x: sensitivity(m, x),
    lambda m, x: gradient_norms(m, x), lambda m, x: analyze(m, x),
]


def dense_model():
    return stablenet.build_model("hamiltonian", (2,), 2, 4, 3, 1.0)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_block_weights_are_named(entry, value):
    model = dense_model()
    with torch.no_grad():
        model.block.K[1, 2, 0] = value
    with pytest.raises(NonFiniteError, match=r"'blocks.0.K' .* \(first at layer 1, index "
                       r"\[1, 2, 0\]\)"):
        entry(model, torch.randn(5, 2))


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_non_finite_classifier_weights_are_named(entry):
    """The classifier is not part of any spectrum, but a report on it would be a lie."""
    model = dense_model()
    with torch.no_grad():
        model.classifier.weight[0, 0] = math.nan
    with pytest.raises(NonFiniteError, match="'classifier.weight' .* holds 1 NaN and 0 Inf"):
        entry(model, torch.randn(5, 2))


def test_non_finite_buffers_and_inputs_are_named():
    model = stablenet.build_model("leapfrog", (1, 6, 6), 2, [3], 2, 1.0)
    with torch.no_grad():
        model.opening[1].running_var[0] = math.inf
    with pytest.raises(NonFiniteError, match="'opening.1.running_var'"):
        spectra(model)
    x = torch.randn(4, 2)
    x[3, 1] = math.nan
    with pytest.raises(NonFiniteError, match=r"the inputs are not finite: x holds 1 NaN .*"
                       r"\[3, 1\]"):
        sensitivity(dense_model(), x)
    block = stablenet.ResNet(3, 4, 1.0)
    with torch.no_grad():
        block.b[2] = math.nan
    with pytest.raises(NonFiniteError, match=r"'b' of this ResNet .* \(first at layer 2"):
        stability_margins(block)


def test_finite_eigvals_refuses_what_lapack_cannot_take():
    A = torch.eye(3, dtype=torch.float64).repeat(2, 1, 1)
    assert torch.equal(finite_eigvals(A), torch.linalg.eigvals(A))
    A[1, 0, 2] = math.inf
    with pytest.raises(NonFiniteError, match="is not finite"):
        finite_eigvals(A)


def test_spectral_norms_are_inf_where_the_matrix_overflowed():
    A = torch.randn(3, 4, 4, dtype=torch.float64)
    expected = torch.linalg.matrix_norm(A, ord=2)
    A[1, 0, 0], A[2, 3, 3] = math.inf, math.nan
    out = spectral_norms(A)
    assert out[0] == expected[0] and math.isinf(out[1]) and math.isinf(out[2])


def test_a_layer_whose_jacobian_overflows_is_named():
    """Finite weights, but h so large that the states overflow float64 before layer 2:
    the data spectrum is refused naming the layer (LAPACK would crash on it)."""
    block = stablenet.LeapfrogNet(2, 6, 6e200, init="constant")
    with pytest.raises(NonFiniteError, match=r"block 0: layer \d: the Jacobian at the data "
                       r"is not finite"):
        spectra(block, torch.ones(2, 2))


def test_nan_margins_count_as_unstable():
    m = BlockMargins(margins=torch.tensor([0.5, math.nan, -1.0], dtype=torch.float64),
                     eigenvalues=torch.zeros(3, dtype=torch.complex128),
                     max_h=torch.zeros(3), h=0.1, T=0.3, integrator="euler", source="data")
    assert m.unstable_layers == [1, 2] and not m.stable


def sequential():
    torch.manual_seed(0)
    first, second = stablenet.HamiltonianNet(4, 3, 1.0), stablenet.ResNet(4, 2, 1.0)
    return torch.nn.Sequential(torch.nn.Linear(2, 4), first, torch.nn.Tanh(), second,
                               torch.nn.Linear(4, 3)), first, second


def test_a_sequential_is_analysed_at_the_states_of_its_blocks():
    net, first, second = sequential()
    x = torch.randn(6, 2)
    with torch.no_grad():  # the states at the blocks, in float64 as the analysis computes
        twin = copy.deepcopy(net).double()
        y1 = twin[0](x.double())
        y2 = twin[2](twin[1](y1))
    got = spectra(net, x)
    want = [spectra(first, y1), spectra(second, y2)]
    assert len(got) == 2
    for g, w in zip(got, want, strict=True):
        assert torch.equal(g.weights, w.weights) and torch.equal(g.data, w.data)
    margins = stability_margins(net, x)
    assert [m.integrator for m in margins] == ["verlet", "euler"]
    s = sensitivity(net, x)
    assert torch.equal(s[1].worst, sensitivity(second, y2).worst)
    grads = gradient_norms(net, x, labels=torch.tensor([0, 1, 2, 0, 1, 2]))
    assert len(grads) == 2 and all(torch.isfinite(g.states).all() for g in grads)
    assert isinstance(check_stability(net, x), bool)


def test_modules_without_or_with_unused_blocks_are_refused():
    with pytest.raises(ConfigTypeError, match="contains none"):
        spectra(torch.nn.Sequential(torch.nn.Linear(2, 2)))

    class Skips(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.used, self.unused = stablenet.ResNet(2, 2, 1.0), stablenet.ResNet(2, 2, 1.0)

        def forward(self, x):
            return self.used(x)

    with pytest.raises(ConfigError, match=r"block\(s\) \[1\] .* are not called"):
        spectra(Skips(), torch.randn(3, 2))
