"""The paper's generators: sizes, balance, determinism and the geometry of docs/theory.md 7."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from stablenet.data import ellipses, peaks, peaks_grid, peaks_z, swissroll
from stablenet.errors import ConfigError


def test_ellipses_counts_balance_and_dtypes():
    s = ellipses(n_train=300, n_val=70, seed=1)
    assert s.x_train.shape == (600, 2) and s.x_val.shape == (140, 2)
    assert s.x_train.dtype == torch.float32 and s.y_train.dtype == torch.int64
    assert torch.bincount(s.y_train).tolist() == [300, 300]
    assert torch.bincount(s.y_val).tolist() == [70, 70]
    assert s.num_classes == 2 and s.domain == (-2.0, 2.0, -1.0, 1.0)
    assert s.n_features == 2 and not s.is_image and s.input_shape == (2,)


def test_ellipses_default_sizes_are_per_class():
    s = ellipses()
    assert (s.n_train, s.n_val) == (2000, 400)


@pytest.mark.parametrize("part", ["train", "val"])
def test_ellipse_points_lie_in_their_radius_bands(part):
    s = ellipses(n_train=500, n_val=500, seed=3)
    x, y = getattr(s, f"x_{part}").double(), getattr(s, f"y_{part}")
    r = torch.sqrt(x[:, 0] ** 2 + (x[:, 1] / 0.4) ** 2)
    inner, outer = r[y == 1], r[y == 0]
    tol = 1e-5  # float32 storage
    assert inner.min() >= 0 and inner.max() <= 1 + tol
    assert outer.min() >= 1 - tol and outer.max() <= 2 + tol
    # uniform radii: both bands are filled, not just a sliver
    assert inner.max() > 0.9 and inner.min() < 0.1 and outer.max() > 1.9 and outer.min() < 1.1
    assert x[:, 0].abs().max() <= 2 + tol and x[:, 1].abs().max() <= 0.8 + tol


def test_ellipses_deterministic_and_seed_dependent():
    a, b, c = ellipses(50, 20, seed=7), ellipses(50, 20, seed=7), ellipses(50, 20, seed=8)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.x_val, b.x_val)
    assert not torch.equal(a.x_train, c.x_train)
    # training and validation are independent draws, not the same points
    assert not torch.equal(a.x_train[:40], a.x_val)


def test_swissroll_exact_points():
    s = swissroll()
    assert (s.n_train, s.n_val) == (513, 513)
    theta = np.linspace(0, 4 * math.pi, 513)
    r1, r0 = np.linspace(0, 1, 513), np.linspace(0.2, 1.2, 513)
    stacked = np.concatenate(
        [
            np.c_[r1 * np.cos(theta), r1 * np.sin(theta)],
            np.c_[r0 * np.cos(theta), r0 * np.sin(theta)],
        ]
    )
    labels = np.r_[np.ones(513), np.zeros(513)]
    assert stacked.shape == (1026, 2)
    np.testing.assert_allclose(s.x_train.numpy(), stacked[0::2], atol=1e-7)
    np.testing.assert_allclose(s.x_val.numpy(), stacked[1::2], atol=1e-7)
    assert s.y_train.tolist() == labels[0::2].tolist()
    assert s.y_val.tolist() == labels[1::2].tolist()
    # first points by hand: theta_0 = 0, r = 0; train[1] is stacked[2]: theta = 2*4pi/512
    assert s.x_train[0].tolist() == [0.0, 0.0]
    t2, rr = 8 * math.pi / 512, 2 / 512
    assert s.x_train[1].tolist() == pytest.approx([rr * math.cos(t2), rr * math.sin(t2)], abs=1e-7)
    t1 = 4 * math.pi / 512
    assert s.x_val[0].tolist() == pytest.approx([math.cos(t1) / 512, math.sin(t1) / 512], abs=1e-7)
    # stacked index 1025 (odd, so validation) is the end of arm 0: theta = 4 pi, r = 1.2
    assert s.x_val[-1].tolist() == pytest.approx([1.2, 0.0], abs=1e-6)
    # stacked index 512 (even, so training) is the end of arm 1: theta = 4 pi, r = 1
    assert s.x_train[256].tolist() == pytest.approx([1.0, 0.0], abs=1e-6)
    assert s.y_train[256] == 1 and s.y_train[257] == 0
    assert torch.bincount(s.y_train).tolist() == [256, 257]
    assert s.domain == (-1.2, 1.2, -1.2, 1.2)
    assert s.x_train.abs().max() <= 1.2 + 1e-6


def test_swissroll_deterministic():
    assert torch.equal(swissroll().x_train, swissroll().x_train)


def test_peaks_counts_and_labels_match_recomputed_bins():
    s = peaks(n_train=400, n_val=80, seed=2)
    assert torch.bincount(s.y_train, minlength=5).tolist() == [400] * 5
    assert torch.bincount(s.y_val, minlength=5).tolist() == [80] * 5
    assert s.num_classes == 5 and s.domain == (-3.0, 3.0, -3.0, 3.0)
    # recompute independently: map each point back to its grid index, bin z on the grid
    t = np.linspace(-3, 3, 256)
    zz = peaks_z(*np.meshgrid(t, t))
    lo, hi = zz.min(), zz.max()
    inner_edges = lo + (hi - lo) / 5 * np.arange(1, 5)
    for x, y in ((s.x_train, s.y_train), (s.x_val, s.y_val)):
        x = x.double().numpy()
        i = np.rint((x + 3) * 255 / 6).astype(int)
        np.testing.assert_allclose(t[i], x, atol=1e-6)  # points are grid points
        z = zz[i[:, 1], i[:, 0]]
        expected = np.searchsorted(inner_edges, z, side="left")
        assert (expected == y.numpy()).all()


def test_peaks_z_matches_matlab_formula_at_a_point():
    x, y = 0.5, -0.25
    z = (
        3 * (1 - x) ** 2 * math.exp(-(x**2) - (y + 1) ** 2)
        - 10 * (x / 5 - x**3 - y**5) * math.exp(-(x**2) - y**2)
        - math.exp(-((x + 1) ** 2) - y**2) / 3
    )
    assert peaks_z(np.array(x), np.array(y)) == pytest.approx(z, rel=1e-12)
    # MATLAB's peaks has its maximum ~8.1 near (0, 1.6) and minimum ~-6.55 near (0.23, -1.63)
    pts, labels = peaks_grid()
    assert pts.shape == (65536, 2) and set(np.unique(labels)) == {0, 1, 2, 3, 4}


def test_peaks_deterministic_and_seed_dependent():
    a, b, c = peaks(30, 10, seed=0), peaks(30, 10, seed=0), peaks(30, 10, seed=1)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.x_val, b.x_val)
    assert not torch.equal(a.x_train, c.x_train)


@pytest.mark.parametrize("fn", [ellipses, peaks])
@pytest.mark.parametrize("kwargs", [{"n_train": 0}, {"n_val": -1}, {"n_train": 2.5}, {"seed": -1}])
def test_generators_reject_bad_sizes(fn, kwargs):
    with pytest.raises(ConfigError):
        fn(**kwargs)
