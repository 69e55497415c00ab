"""``stablenet reproduce`` on a tiny grid: the table, the figures, MNIST found or not."""

from __future__ import annotations


def test_quick_grid_writes_the_table_and_figures(cli, tmp_path, fake_mnist):
    out = tmp_path / "results"
    r = cli("reproduce", "--quick", "--problems", "ellipses,swissroll", "--archs",
            "hamiltonian", "--epochs", "1", "--data-root", fake_mnist, "--quiet", "--out", out)
    assert r.code == 0, r.err
    table = (out / "results.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| ") and "%" in line]
    assert [row.split("|")[1:3] for row in rows] == [
        [" ellipses ", " hamiltonian "], [" swissroll ", " hamiltonian "],
        [" mnist ", " hamiltonian "]]
    assert "stablenet reproduce --quick" in table
    assert (out / "decision_regions.png").is_file()
    assert (out / "ellipses-hamiltonian" / "figures" / "trajectories.png").is_file()
    assert (out / "mnist-hamiltonian" / "figures" / "misclassified.png").is_file()


def test_missing_mnist_is_reported_not_fatal(cli, tmp_path):
    out = tmp_path / "results"
    r = cli("reproduce", "--quick", "--problems", "peaks", "--archs", "leapfrog", "--epochs",
            "1", "--data-root", tmp_path / "none", "--no-plots", "--quiet", "--out", out)
    assert r.code == 0, r.err
    table = (out / "results.md").read_text()
    assert "| peaks | leapfrog |" in table and "| mnist | hamiltonian |" in table
    assert "skipped: data not found" in table


def test_unknown_problem(cli, tmp_path):
    r = cli("reproduce", "--problems", "moons", "--out", tmp_path)
    assert r.code == 2 and "unknown problem(s) or architecture(s) ['moons']" in r.err
