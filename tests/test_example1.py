"""Example 1 of Haber & Ruthotto 2018 (docs/theory.md 2) with the library's ResNet, and
the example script.

n = 2, N = 10 identical layers, h = 0.1, tanh, b = 0, y1 = (0.1, 0.1), y2 = -y1,
y3 = (0, 0.5). The bounds are the measured values (float64) with a small margin:

    K+  pair distance ratios 4.268 (y1-y2), 2.685, 3.788; norm ratios 4.268, 4.268, 3.407
    K-  pair distance ratios 0.278, 0.074, 0.172;          norm ratios 0.278, 0.278, 0.133
    K0  pair distance ratios 1.051, 1.017, 1.045;          norm ratios 1.051, 1.051, 1.035
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

import stablenet

K_PLUS = [[2.0, -2.0], [0.0, 2.0]]
K_MINUS = [[-2.0, 0.0], [2.0, -2.0]]
K_ZERO = [[0.0, -1.0], [1.0, 0.0]]
Y0 = [[0.1, 0.1], [-0.1, -0.1], [0.0, 0.5]]
PAIRS = [(0, 1), (0, 2), (1, 2)]


def run(K_list):
    """Trajectory [11, 3, 2] of the three inputs through ResNet(2, 10, T=1, K_j = K)."""
    K = torch.tensor(K_list)
    block = stablenet.ResNet(2, 10, T=1.0, init=K.expand(10, 2, 2))
    assert block.h == pytest.approx(0.1) and torch.equal(block.b, torch.zeros(10))
    with torch.no_grad():
        return block(torch.tensor(Y0), return_trajectory=True)


def pair_ratios(traj):
    return torch.tensor([(traj[-1, i] - traj[-1, j]).norm() / (traj[0, i] - traj[0, j]).norm()
                         for i, j in PAIRS])


def norm_ratios(traj):
    return traj[-1].norm(dim=-1) / traj[0].norm(dim=-1)


def test_k_plus_features_diverge(float64):
    traj = run(K_PLUS)
    ratios = pair_ratios(traj)
    assert 4.2 < ratios[0] < 4.35  # y1 and y2 fly apart
    assert (ratios > 2.6).all()
    assert (norm_ratios(traj) > 3.3).all()
    norms = traj.norm(dim=-1)
    assert (norms[1:] > norms[:-1]).all()  # every layer pushes every state outwards


def test_k_minus_everything_collapses_to_the_origin(float64):
    traj = run(K_MINUS)
    assert (norm_ratios(traj) < 0.29).all()
    assert (pair_ratios(traj) < 0.29).all()
    norms = traj.norm(dim=-1)
    assert (norms[1:] < norms[:-1]).all()  # strictly shrinking at every layer


def test_k_zero_distances_nearly_kept(float64):
    traj = run(K_ZERO)
    ratios = pair_ratios(traj)
    assert ((ratios > 1.0) & (ratios < 1.06)).all()
    assert ((norm_ratios(traj) > 1.0) & (norm_ratios(traj) < 1.06)).all()
    # near the origin tanh is almost linear: forward Euler on eigenvalues +-i grows by
    # |1 + i h| = sqrt(1 + h^2) per layer, forward Euler's slight instability (theory.md 2)
    assert ratios[0].item() == pytest.approx((1 + 0.1**2) ** 5, abs=1e-3)


def load_example():
    path = Path(__file__).resolve().parents[1] / "examples" / "example1.py"
    spec = importlib.util.spec_from_file_location("example1", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_script_writes_the_figure(float64, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    example = load_example()
    torch.testing.assert_close(example.trajectories(torch.tensor(K_PLUS, dtype=torch.float64)),
                               run(K_PLUS), rtol=0, atol=1e-14)
    out = tmp_path / "figs" / "example1.png"
    assert example.main(["--out", str(out.parent)]) == 0  # a folder gets example1.png
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    assert "K+: distance ratios" in capsys.readouterr().out


def test_example_script_writes_into_the_current_directory_by_default(float64, tmp_path,
                                                                    monkeypatch):
    """Never into the repository's docs/figures unless asked (--out docs/figures)."""
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    assert load_example().main([]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["example1.png"]
    assert load_example().main(["--out", "named.png"]) == 0
    assert (tmp_path / "named.png").is_file()
