"""Figures of the stability analysis (matplotlib, imported lazily, Agg backend).

The stability region is drawn from the integrator's own ``stability_margin``: the set
{h lambda : margin >= 0} is shaded on a grid, and its part on the imaginary axis is drawn
as a thick segment (for Verlet/leapfrog the region *is* the segment [-2i, 2i]).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch

from ..interfaces import Integrator
from ..plotting import pyplot, save_figure
from .gradients import GradientNorms
from .margins import BlockMargins
from .sensitivity import Sensitivity
from .spectra import BlockSpectrum


def _grid(n_panels: int, width: float = 5.0, height: float = 4.0, cols: int | None = None):
    plt = pyplot()
    cols = cols or n_panels
    rows = (n_panels + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    return plt, fig, axes.flatten()


def draw_region(ax: Any, integrator: Integrator, box: tuple[float, float, float, float]) -> None:
    """Shade {z = h lambda in box : integrator.stability_margin(z) >= 0}."""
    x0, x1, y0, y1 = box
    re = torch.linspace(x0, x1, 400, dtype=torch.float64)
    im = torch.linspace(y0, y1, 400, dtype=torch.float64)
    Z = torch.complex(re[None, :].expand(400, 400), im[:, None].expand(400, 400))
    inside = (integrator.stability_margin(Z) >= 0).to(torch.float64)
    ax.contourf(re.numpy(), im.numpy(), inside.numpy(), levels=[0.5, 1.5], colors=["#cfe8cf"])
    axis = torch.complex(torch.zeros_like(im), im)
    on_axis = integrator.stability_margin(axis) >= 0
    area = bool(inside.sum() > 2 * 400)  # more than the axis segment: a 2-D region
    if area:  # a legend entry for the shaded region (contourf has none)
        ax.fill([], [], color="#cfe8cf", label=f"{integrator.name} stability region")
    if on_axis.sum() > 1:
        ys = im[on_axis]
        label = None if area else f"{integrator.name} stability region"
        ax.plot([0, 0], [float(ys.min()), float(ys.max())], color="#2a8a2a", lw=3, alpha=0.6,
                solid_capstyle="butt", label=label)
    ax.axhline(0, color="0.7", lw=0.5)
    ax.axvline(0, color="0.7", lw=0.5)


def _eigen_panel(ax: Any, spec: BlockSpectrum, box: tuple, title: str) -> None:
    draw_region(ax, spec.integrator, box)
    hw = spec.h * spec.system("weights")
    layers = torch.arange(hw.shape[0]).repeat_interleave(hw.shape[1])
    if spec.data is not None:
        hd = spec.h * spec.system("data")
        ax.scatter(hd.real.flatten(), hd.imag.flatten(), s=4, color="tab:red", alpha=0.25,
                   label="Jacobian at data", zorder=2)
    sc = ax.scatter(hw.real.flatten(), hw.imag.flatten(), c=layers, cmap="viridis", s=16,
                    marker="x", label="weights (colour: layer)", zorder=3)
    ax.set_xlim(box[0], box[1])
    ax.set_ylim(box[2], box[3])
    ax.set_aspect("equal")
    ax.set_xlabel("Re(h lambda)")
    ax.set_ylabel("Im(h lambda)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
    ax.figure.colorbar(sc, ax=ax, label="layer j")


def plot_eigenvalues(specs: Sequence[BlockSpectrum], path: str | os.PathLike) -> None:
    """Per block: the whole region (left) and a zoom on the eigenvalues (right)."""
    plt, fig, axes = _grid(2 * len(specs), cols=2)
    for i, spec in enumerate(specs):
        hl = spec.h * torch.cat([spec.system("weights").flatten()] + (
            [spec.system("data").flatten()] if spec.data is not None else []))
        r = float(hl.abs().max()) * 1.3 + 1e-3
        full = (min(-2.3, -r), max(0.5, r), -max(2.3, r), max(2.3, r))
        zoom = (-r, r, -r, r)
        name = f"{spec.integrator.name}, h = {spec.h:g}"
        _eigen_panel(axes[2 * i], spec, full, f"block {i} ({name}): region")
        _eigen_panel(axes[2 * i + 1], spec, zoom, f"block {i}: zoom")
    save_figure(fig, path)


def plot_margins(
    weights: Sequence[BlockMargins], data: Sequence[BlockMargins | None],
    path: str | os.PathLike,
) -> None:
    """Margin per layer and block: from the weights (solid) and at the data (dashed)."""
    plt, fig, axes = _grid(1, width=7)
    ax = axes[0]
    for i, (mw, md) in enumerate(zip(weights, data, strict=True)):
        line, = ax.plot(mw.margins.numpy(), label=f"block {i} ({mw.integrator}): weights")
        if md is not None:
            ax.plot(md.margins.numpy(), ls="--", color=line.get_color(),
                    label=f"block {i} ({md.integrator}): Jacobian at data")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xlabel("layer j")
    ax.set_ylabel("stability margin (>= 0 stable)")
    ax.legend(fontsize=8)
    save_figure(fig, path)


def plot_gradients(grads: Sequence[GradientNorms], path: str | os.PathLike) -> None:
    plt, fig, axes = _grid(1, width=7)
    ax = axes[0]
    for i, g in enumerate(grads):
        line, = ax.semilogy(g.states.numpy(), label=f"block {i}: ||dL/dY_j||")
        ax.semilogy(g.params.numpy(), ls="--", color=line.get_color(),
                    label=f"block {i}: ||dL/dtheta_j||")
    ax.set_xlabel("layer j")
    ax.set_ylabel("gradient norm")
    ax.legend(fontsize=8)
    save_figure(fig, path)


def plot_sensitivity(sens: Sequence[Sensitivity], path: str | os.PathLike) -> None:
    plt, fig, axes = _grid(1, width=7)
    ax = axes[0]
    for i, s in enumerate(sens):
        line, = ax.semilogy(s.profile.numpy(), label=f"block {i}: random delta")
        ax.axhline(s.worst_max, ls="--", color=line.get_color(),
                   label=f"block {i}: worst case at Y_N ({s.worst_max:.3g})")
    ax.set_xlabel("layer j")
    ax.set_ylabel("||Y_j(x + delta) - Y_j(x)|| / ||delta||")
    ax.legend(fontsize=8)
    save_figure(fig, path)


def plot_depth_sweep(
    summary: dict, predictions: dict | None, regimes: Sequence[str], archs: Sequence[str],
    ylabel: str, path: str | os.PathLike, h: float, floor: float = 1e-6,
) -> None:
    """Log-log: median over seeds (line) and min..max (band) versus depth, per regime;
    ``predictions`` (regime "identity"): the linear prediction rho^N per arch (dotted).
    The y axis is cut at ``floor`` (a vanishing network leaves the panel at the bottom)."""
    plt, fig, axes = _grid(len(regimes), width=5.2, height=4.2, cols=min(len(regimes), 2))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, regime in zip(axes, regimes, strict=False):
        for c, arch in zip(colors, archs, strict=False):
            keys = sorted(k for k in summary if k[0] == regime and k[1] == arch)
            if not keys:
                continue
            depth = [k[2] for k in keys]
            med, lo, hi = zip(*(summary[k] for k in keys), strict=True)
            ax.loglog(depth, med, "o-", color=c, ms=3, label=arch)
            ax.fill_between(depth, lo, hi, color=c, alpha=0.15)
            if predictions and regime == "identity":
                pk = sorted(k for k in predictions if k[1] == arch)
                ax.loglog([k[2] for k in pk], [predictions[k][0] for k in pk], ":", color=c,
                          label="linear prediction rho^N" if arch == archs[0] else None)
        ax.set_title(f"{regime} (h = {h:g}, T = N h)", fontsize=10)
        ax.set_ylim(bottom=max(ax.get_ylim()[0], floor))
        ax.set_xlabel("depth N")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="major", alpha=0.3)
    axes[0].legend(fontsize=7)
    save_figure(fig, path)
