"""``stablenet analyze`` and ``stablenet depth-sweep`` run in-process."""

from __future__ import annotations

import json

import pytest
import torch

import stablenet
from stablenet.cli import main


def save_model(path, arch: str, K_scale: float | None = None, depth: int = 6):
    model = stablenet.build_model(arch, (2,), 2, width=3, depth=depth, T=1.0)
    if K_scale is not None:
        with torch.no_grad():
            model.block.K.copy_(K_scale * torch.eye(3).expand(depth, 3, 3))
    stablenet.save(model, path)
    return path


def test_analyze_writes_report_with_verdicts_json_and_figures(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    save_model(run_dir / "model.pt", "resnet", K_scale=1.0)  # lambda = 1 > 0: unstable
    out = tmp_path / "report"
    assert main(["analyze", str(run_dir), "--data", "swissroll", "--out", str(out),
                 "--samples", "16"]) == 0
    report = (out / "report.md").read_text()
    verdicts = [line for line in report.splitlines() if line.startswith("- **Verdict")]
    assert len(verdicts) == 4  # margins from weights and data, gradients, sensitivity
    assert "stability margins, block 0, weights): UNSTABLE" in report
    assert "No step size" in report
    summary = json.loads((out / "summary.json").read_text())
    assert summary["blocks"][0]["margins_weights"]["stable"] is False
    assert summary["blocks"][0]["max_real_eigenvalue"] == pytest.approx(1.0, rel=1e-9)
    assert "validation samples of swissroll" in summary["data"]
    for name in ("eigenvalues", "margins", "gradients", "sensitivity"):
        png = out / f"stability_{name}.png"
        assert png.read_bytes()[:4] == b"\x89PNG"
        assert f"(stability_{name}.png)" in report


def test_analyze_stable_hamiltonian_model_file_without_data(tmp_path):
    path = save_model(tmp_path / "ham.pt", "hamiltonian")
    out = tmp_path / "out"
    assert main(["analyze", str(path), "--out", str(out), "--no-figures"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["blocks"][0]["margins_weights"]["stable"] is True  # h |lambda| << 2
    assert "random N(0, 1) inputs" in summary["data"]
    assert any("STABLE" in v for v in summary["verdicts"])
    assert not list(out.glob("*.png"))


def test_analyze_bad_input_exits_2(tmp_path, capsys):
    out = str(tmp_path / "out")
    assert main(["analyze", str(tmp_path / "missing.pt"), "--out", out]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["analyze", str(tmp_path), "--out", out]) == 2  # a directory without model.pt
    assert "no model.pt" in capsys.readouterr().err
    model3 = stablenet.build_model("resnet", (3,), 2, width=3, depth=2, T=1.0)
    stablenet.save(model3, tmp_path / "m3.pt")
    assert main(["analyze", str(tmp_path / "m3.pt"), "--data", "swissroll", "--out", out]) == 2
    assert "expects (3,)" in capsys.readouterr().err


def test_depth_sweep_quick_writes_table_json_and_figures(tmp_path):
    out = tmp_path / "sweep"
    assert main(["depth-sweep", "--quick", "--out", str(out)]) == 0
    table = (out / "depth_sweep.md").read_text()
    assert "| regime | architecture | N=8 | N=16 | N=32 |" in table
    for regime in ("identity", "identity-varying", "tanh-constant", "tanh-varying"):
        for arch in stablenet.ARCHITECTURES:
            assert f"| {regime} | {arch} |" in table
    data = json.loads((out / "depth_sweep.json").read_text())
    assert len(data["records"]) == 3 * 5 * 4  # depths x archs x regimes, one seed
    assert data["params"]["command"].startswith("stablenet depth-sweep --out ")
    for name in ("gradients", "sensitivity"):
        assert (out / f"depth_sweep_{name}.png").read_bytes()[:4] == b"\x89PNG"


def test_depth_sweep_bad_arguments_exit_2(tmp_path):
    assert main(["depth-sweep", "--quick", "--archs", "densenet", "--out", str(tmp_path)]) == 2
    assert main(["depth-sweep", "--quick", "--h", "0", "--out", str(tmp_path)]) == 2


def test_analyze_reports_progress_on_stderr_unless_quiet(tmp_path, capsys):
    path = save_model(tmp_path / "m.pt", "hamiltonian")
    assert main(["analyze", str(path), "--out", str(tmp_path / "r"), "--no-figures"]) == 0
    err = capsys.readouterr().err.splitlines()
    steps = [line for line in err if line.startswith("stablenet analyze: ")]
    assert [s.endswith(" ...") for s in steps] == [True, False] * 3
    assert all(line.rstrip().endswith(" s") for line in steps[1::2])
    assert main(["analyze", str(path), "--out", str(tmp_path / "r"), "--no-figures",
                 "--quiet"]) == 0
    assert "stablenet analyze:" not in capsys.readouterr().err
