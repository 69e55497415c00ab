"""``stablenet depth-study``: the files it writes after every run and at the end."""

from __future__ import annotations

import json

import pytest

import stablenet.cli.depth_study as cli_study


@pytest.mark.filterwarnings("ignore:block 0:RuntimeWarning")  # N = 2: h = 2, on purpose tiny
def test_json_after_each_run_has_the_distances_known_so_far(cli, tmp_path, monkeypatch):
    written = []
    save = cli_study.save_text

    def spy(text, path, *a, **kw):
        if path.name == "depth_study.json":
            written.append(json.loads(text))
        return save(text, path, *a, **kw)

    monkeypatch.setattr(cli_study, "save_text", spy)
    r = cli("depth-study", "--out", tmp_path / "s", "--problems", "swissroll", "--archs",
            "hamiltonian", "--depths", "2,8", "--tables", "fixed-T", "--T", "4", "--epochs",
            "1", "--limit-train", "40", "--no-plots", "--quiet")
    assert r.code == 0, r.err
    after_8 = written[1]  # the rewrite after the N = 8 run: N = 2's distance to it is known
    assert [row["depth"] for row in after_8] == [2, 8]
    assert after_8[0]["distance_to_4n"] is not None and after_8[1]["distance_to_4n"] is None
    final = json.loads((tmp_path / "s" / "depth_study.json").read_text())
    assert final == after_8  # the end of the study adds nothing the last rewrite lacked
    assert "| swissroll | hamiltonian |" in (tmp_path / "s" / "depth_study.md").read_text()


@pytest.mark.filterwarnings("ignore:block 0:RuntimeWarning")  # N = 2: h = 2, on purpose tiny
@pytest.mark.parametrize("flags, integrator, gamma", [
    ([], "midpoint", 0.0),
    (["--integrator", "euler"], "euler", 2.0 / 4.0),
    (["--integrator", "euler", "--gamma", "2e-4"], "euler", 2e-4),
])
def test_integrator_and_gamma_reach_the_antisymmetric_runs_and_the_command(
        cli, tmp_path, flags, integrator, gamma):
    """Without flags the runs take stablenet train's defaults (the midpoint rule, gamma 0);
    --integrator euler gives the paper's forward Euler with its default 2 / T, and --gamma a
    value (the authors' 2e-4); the recorded command says so; the other architectures keep
    their own integrator."""
    import stablenet

    out = tmp_path / "s"
    r = cli("depth-study", "--out", out, "--problems", "swissroll", "--archs",
            "antisymmetric,hamiltonian", "--depths", "2", "--tables", "fixed-T", "--T", "4",
            "--epochs", "1", "--limit-train", "40", "--no-plots", "--quiet", *flags)
    assert r.code == 0, r.err
    model = stablenet.load(out / "fixed-T" / "swissroll-antisymmetric-N2" / "model.pt")
    assert model.block.parametrization.gamma == pytest.approx(gamma)
    assert model.block.integrator.name == integrator
    ham = stablenet.load(out / "fixed-T" / "swissroll-hamiltonian-N2" / "model.pt")
    assert ham.block.integrator.name == "verlet"
    command = (out / "depth_study.md").read_text()
    assert ("--gamma 0.0002" in command) == ("--gamma" in flags)
    assert ("--integrator euler" in command) == ("--integrator" in flags)


def test_negative_gamma_is_refused(cli, tmp_path):
    r = cli("depth-study", "--out", tmp_path / "s", "--gamma", "-1", "--quiet")
    assert r.code == 2 and "--gamma must be >= 0" in r.err
