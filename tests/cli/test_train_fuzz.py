"""Property test of the argument handling: random argv -> exit 0 or 2, never a traceback.

``--dry-run`` checks the options, loads the data and builds the model, then exits, so
every example stays cheap.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FLAGS = ["--dataset", "--arch", "--width", "--depth", "--T", "--levels", "--alpha", "--beta",
         "--gamma", "--optimizer", "--lr", "--epochs", "--batch-size", "--seed", "--activation",
         "--opening", "--dtype", "--limit-train", "--channels", "--checkpoint", "--schedule",
         "--momentum", "--bias", "--threads", "--reversible", "--max-grad-norm"]
VALUES = ["ellipses", "swissroll", "peaks", "nope", "missing.npz", "x.csv", "0", "-1", "2", "3",
          "3.5", "nan", "inf", "-inf", "1e9", "hamiltonian", "resnet", "leapfrog", "adam",
          "lbfgs", "bcd", "tanh", "relu", "pad", "linear", "float64", "8,4", "", "--", "é"]

tokens = st.lists(st.one_of(st.sampled_from(FLAGS), st.sampled_from(VALUES),
                            st.text(max_size=6)), max_size=8)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(argv=tokens)
def test_random_arguments_exit_cleanly(cli, tmp_path, argv):
    result = cli("train", "--dry-run", "--quiet", "--out", tmp_path / "out", *argv)
    assert result.code in (0, 2), (argv, result.code, result.err)
    assert "Traceback" not in result.err
    if result.code == 2:
        assert "error" in result.err
