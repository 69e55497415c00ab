"""The depth sweep's measurements against the linear theory it records."""

from __future__ import annotations

import math

import pytest
import torch

from stablenet.analysis.sweep import depth_sweep, summarise, sweep_weights


def test_normal_linear_networks_grow_exactly_like_rho_to_the_n():
    # identity regime, constant K: the antisymmetric operator is normal and the parabolic
    # one symmetric, so sigma_max(M^N) = rho(M)^N exactly; Hamiltonian/leapfrog: rho = 1.
    records = depth_sweep(depths=(8, 64), seeds=1, samples=4, regimes=("identity",),
                          archs=("antisymmetric", "parabolic", "hamiltonian", "resnet"))
    for r in records:
        if r["arch"] in ("antisymmetric", "parabolic"):
            assert r["sens_worst"] == pytest.approx(r["predicted_discrete"], rel=1e-9)
        if r["arch"] == "hamiltonian":
            assert r["rho"] == pytest.approx(1.0, abs=1e-12)
        assert r["T"] == pytest.approx(0.1 * r["depth"])
        # the forward-Euler rate log(rho)/h tends to max Re(lambda) as h -> 0
        if r["arch"] == "resnet":
            assert math.log(r["rho"]) / r["h"] == pytest.approx(r["max_re_lambda"], abs=0.1)


def test_weights_are_nested_and_constant_when_asked():
    deep, shallow = sweep_weights(4, 16, False, 3), sweep_weights(4, 8, False, 3)
    torch.testing.assert_close(deep[:8], shallow)
    const = sweep_weights(4, 5, True, 3)
    assert torch.equal(const[0], const[4])


def test_summarise_median_min_max_over_seeds():
    records = [{"regime": "r", "arch": "a", "depth": 8, "x": v} for v in (3.0, 1.0, 2.0)]
    assert summarise(records, "x") == {("r", "a", 8): (2.0, 1.0, 3.0)}
