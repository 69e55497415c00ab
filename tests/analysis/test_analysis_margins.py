"""stability_margins / check_stability: the integrators' regions on known spectra."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

import stablenet
from stablenet.analysis import check_stability, stability_margins
from stablenet.analysis.margins import instability_message


def scaled_identity(a: float, width: int, depth: int) -> torch.Tensor:
    return (a * torch.eye(width)).expand(depth, width, width).clone()


def test_forward_euler_margin_is_one_minus_abs_one_plus_h_lambda():
    # K = -I: lambda = -1; margin 1 - |1 - h|
    for depth, T in ((10, 1.0), (4, 12.0)):
        m = stability_margins(stablenet.ResNet(3, depth, T, init=scaled_identity(-1.0, 3, depth)))
        h = T / depth
        torch.testing.assert_close(m.margins, torch.full((depth,), 1 - abs(1 - h),
                                                         dtype=torch.float64))
        assert m.stable == (h <= 2)


def test_check_stability_flags_unstable_h_and_names_the_fix():
    unstable = stablenet.ResNet(3, 4, 12.0, init=scaled_identity(-1.0, 3, 4))  # h = 3, h|l| > 2
    with pytest.warns(RuntimeWarning, match=r"layer 0: margin -1 .*depth >= 6 layers"):
        assert check_stability(unstable) is False
    m = stability_margins(unstable)
    assert m.unstable_layers == [0, 1, 2, 3] and m.required_depth() == 6  # h <= 2/|lambda|
    stable = stablenet.ResNet(3, 6, 12.0, init=scaled_identity(-1.0, 3, 6))  # h = 2: boundary
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_stability(stable) is True


def test_positive_real_part_has_no_stabilising_step():
    block = stablenet.ResNet(2, 8, 1.0, init=scaled_identity(0.5, 2, 8))
    m = stability_margins(block)
    assert not m.stable and m.required_depth() is None
    with pytest.warns(RuntimeWarning, match="use a stable architecture"):
        check_stability(block)


@pytest.mark.parametrize("net", [stablenet.HamiltonianNet, stablenet.LeapfrogNet])
def test_verlet_and_leapfrog_stable_iff_h_omega_at_most_2(net):
    w = 1.5  # K = w I: first-order eigenvalues +-i w for both networks
    for h, stable in ((1.9 / w, True), (2.1 / w, False)):
        m = stability_margins(net(2, 5, 5 * h, init=scaled_identity(w, 2, 5)))
        torch.testing.assert_close(m.margins, torch.full((5,), 2 - h * w, dtype=torch.float64))
        assert m.stable == stable
        if not stable:
            assert m.required_depth() == math.ceil(5 * h * w / 2)


def test_antisymmetric_margin_matches_closed_form(float64):
    gamma, T, depth = 0.2, 2.0, 4
    K = torch.tensor([[0.0, -1.5], [1.5, 0.0]])  # 1/2 (K - K^T) = K: eigenvalues +-1.5 i
    m = stability_margins(stablenet.AntisymmetricResNet(
        2, depth, T, gamma=gamma, init=K.expand(depth, 2, 2).clone()))
    h = T / depth
    expected = 1 - math.sqrt((1 - h * gamma / 2) ** 2 + (h * 1.5) ** 2)
    torch.testing.assert_close(m.margins, torch.full((depth,), expected))
    assert not m.stable  # h w^2 > gamma: forward Euler is unstable despite the damping
    h_max = gamma / (gamma**2 / 4 + 1.5**2)  # |1 + h lambda| = 1
    assert m.required_depth() == math.ceil(T / h_max)


def test_data_margins_use_the_worst_sample_and_model_gives_one_per_block():
    model = stablenet.build_model("resnet", (2,), 2, width=3, depth=5, T=1.0)
    x = torch.randn(6, 2)
    from_data = stability_margins(model, x)
    from_weights = stability_margins(model)
    assert isinstance(from_data, list) and len(from_data) == 1
    assert from_data[0].source == "data" and from_weights[0].source == "weights"
    one = [stability_margins(model, x[i : i + 1])[0].margins for i in range(6)]
    torch.testing.assert_close(from_data[0].margins, torch.stack(one).min(dim=0).values)


def test_approximate_hamiltonian_data_spectrum_checks_modulus_only(float64):
    # Ritz values of the non-normal Hamiltonian Jacobian at data carry real parts of
    # ~1e-3 |lambda| (Arnoldi error); for the imaginary-segment region only |lambda| counts
    torch.manual_seed(5)
    block = stablenet.ConvHamiltonianNet(2, 2, 1.0)
    x = torch.randn(2, 2, 8, 8)  # m = 2 * 128 = 256
    exact = stability_margins(block, x)
    approx = stability_margins(block, x, exact_max=100)
    assert exact.stable and exact.approximate == ""
    assert approx.stable and approx.approximate == "Arnoldi Ritz values, |lambda| only"
    torch.testing.assert_close(approx.margins, exact.margins, rtol=0, atol=1e-3)


def test_approximate_euler_spectrum_keeps_real_parts(float64):
    torch.manual_seed(6)
    block = stablenet.ConvResNet(2, 2, 1.0)
    approx = stability_margins(block, torch.randn(1, 2, 8, 8), exact_max=100)
    assert approx.approximate == "Arnoldi Ritz values" and not approx.stable


@pytest.mark.parametrize("source", ["weights", "data"])
def test_antisymmetric_advice_names_gamma_and_the_suggested_gamma_is_stable(source, float64):
    """The antisymmetric network's warning advises more damping (--gamma) with a value that,
    applied, passes the forward-Euler check (exactly for the weights: Re lambda = -gamma/2)."""
    torch.manual_seed(3)
    block = stablenet.AntisymmetricResNet(4, 32, 4.0, gamma=2e-4)
    x = torch.randn(16, 4) if source == "data" else None
    with pytest.warns(RuntimeWarning) as caught:
        assert not check_stability(block, x)
    text = str(caught[0].message)
    assert "--gamma" in text and "hamiltonian, leapfrog" in text
    assert "antisymmetric (with" not in text  # never advise the architecture in use
    gamma = float(text.split("gamma >= ")[2].removeprefix("about ").split(" ")[0])
    assert 2e-4 < gamma < 1.0
    stable = stablenet.AntisymmetricResNet(4, 32, 4.0, gamma=gamma)
    stable.load_state_dict(block.state_dict())
    margins = stability_margins(stable, x)
    if source == "weights":
        assert margins.stable
    else:  # sigma' < 1 scales the damping too: the advice is approximate at data states
        assert margins.min_margin > -1e-3


def test_euler_warning_bounds_the_growth_over_all_layers(float64):
    """The forward-Euler warning's growth factor is prod_j max |1 + h lambda_j|: for a
    linear antisymmetric network with one K for every layer (I + h A normal, A = 1/2 (K -
    K^T - gamma I)) it equals the spectral norm of the whole network's map (the authors'
    gamma = 2e-4, with which this h = 0.25 is unstable)."""
    torch.manual_seed(4)
    block = stablenet.AntisymmetricResNet(4, 16, 4.0, activation="identity", init="constant",
                                          gamma=2e-4)
    with pytest.warns(RuntimeWarning) as caught:
        assert not check_stability(block)
    text = str(caught[0].message)
    stated = float(text.split("can grow by up to ")[1].split("x")[0])
    K = block.weights()[0].detach()
    step = torch.eye(4, dtype=K.dtype) + block.h * K[0]
    norm = torch.linalg.matrix_norm(torch.linalg.matrix_power(step, 16), ord=2)
    assert stated == pytest.approx(float(norm), abs=5.1e-3)  # printed to 3 digits
    assert stated > 1.0


def test_the_midpoint_network_s_advice_fits_its_region():
    """Under the midpoint rule damping is the fault (its region is the imaginary axis) and
    forward Euler's damping advice does not apply."""
    torch.manual_seed(0)
    damped = stability_margins(stablenet.AntisymmetricResNet(4, 8, 2.0, integrator="midpoint",
                                                             gamma=0.1))
    assert not damped.stable
    assert "Fix: no damping (--gamma 0; now gamma = 0.1)" in instability_message(damped)
    coarse = stability_margins(stablenet.AntisymmetricResNet(4, 8, 20.0, integrator="midpoint"))
    message = instability_message(coarse)
    assert not coarse.stable and "smaller step" in message
    assert "Forward Euler" not in message and "--gamma" not in message
    fine = stability_margins(stablenet.AntisymmetricResNet(4, 64, 2.0, integrator="midpoint"))
    assert fine.stable and fine.integrator == "midpoint"
