"""The stability-region drawing has a legend entry for each integrator's region (the
forward-Euler disc as a shaded area, the Verlet / leapfrog segment as a line)."""

from __future__ import annotations

import pytest

pytest.importorskip("matplotlib")

from stablenet.analysis.figures import draw_region  # noqa: E402
from stablenet.integrators import ForwardEuler, Leapfrog, Verlet  # noqa: E402
from stablenet.plotting import pyplot  # noqa: E402


@pytest.mark.parametrize("integrator, kind", [(ForwardEuler(), "area"), (Verlet(), "segment"),
                                              (Leapfrog(), "segment")])
def test_region_has_one_legend_entry(integrator, kind):
    plt = pyplot()
    fig, ax = plt.subplots()
    try:
        draw_region(ax, integrator, (-2.5, 0.5, -2.5, 2.5))
        handles, labels = ax.get_legend_handles_labels()
        assert labels == [f"{integrator.name} stability region"]
        is_line = hasattr(handles[0], "get_xdata")
        assert is_line == (kind == "segment")
    finally:
        plt.close(fig)
