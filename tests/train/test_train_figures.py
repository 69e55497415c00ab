"""The run figures: trajectories carry a legend of the classes (in the user's labels), the
curves label each level switch and have integer epoch ticks."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("matplotlib")

import stablenet  # noqa: E402
from stablenet.data import load_dataset  # noqa: E402
from stablenet.train import figures  # noqa: E402


@pytest.fixture
def captured(monkeypatch):
    """The figures ``figures.save_figure`` is handed (kept open, not written)."""
    kept = []
    monkeypatch.setattr(figures, "save_figure", lambda fig, path: kept.append(fig) or path)
    yield kept
    figures.pyplot().close("all")


def history():
    rows = []
    for level, depth, epochs in ((0, 8, 3), (1, 16, 2), (2, 32, 2)):
        for e in range(epochs + 1):
            rows.append({"level": level, "depth": depth, "epoch": e,
                         "train_loss": None if e == 0 else 1.0 / (e + 1), "val_loss": 0.5,
                         "train_accuracy": None if e == 0 else 0.5, "val_accuracy": 0.6})
    return rows


def test_curves_label_level_switches_and_tick_whole_epochs(captured, tmp_path):
    figures.curves(history(), tmp_path / "c.png")
    for ax in captured[0].axes:
        texts = [t.get_text() for t in ax.texts]
        assert texts == ["level 2: depth 16", "level 3: depth 32"]
        lines = [ln.get_xdata()[0] for ln in ax.lines if ln.get_linestyle() == "--"]
        assert lines == [3.5, 5.5]  # after the 3 epochs of level 1 and the 2 of level 2
        ticks = [t for t in ax.get_xticks() if 1 <= t <= 7]
        assert ticks and all(float(t).is_integer() for t in ticks)


@pytest.mark.parametrize("classes", [None, ("setosa", "versicolor")])
def test_trajectories_have_a_class_legend(captured, tmp_path, classes):
    split = load_dataset("swissroll", seed=0)
    if classes is not None:
        split = split.__class__(**{**split.__dict__, "classes": classes})
    model = stablenet.build_model("hamiltonian", (2,), 2, width=4, depth=4, T=1.0)
    with torch.no_grad():
        figures.trajectories(model, split, tmp_path / "t.png")
    legend = captured[0].axes[0].get_legend()
    assert legend is not None
    names = [t.get_text() for t in legend.get_texts()]
    assert names == (["0", "1"] if classes is None else list(classes))
