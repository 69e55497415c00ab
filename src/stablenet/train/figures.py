"""Figures of a training run (matplotlib, imported lazily; install ``stablenet[plots]``).

* ``decision_regions.png``: the predicted class over the plot domain, validation points on top
  (2-feature data only);
* ``trajectories.png``: the validation features y_j after a few layers j across the depth
  (how the network moves the points until a line separates them); the first two
  coordinates when the width is 2, else a PCA projection of each layer's states;
* ``curves.png``: training and validation loss and accuracy per epoch (levels marked);
* ``misclassified.png``: up to 16 misclassified validation images (image data).

:func:`plot_run` writes all that apply into ``RUN_DIR/figures/`` and returns their paths;
:func:`decision_grid` draws the decision regions of several runs in one figure.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..data import DataSplit
from ..errors import ConfigError
from ..interfaces import StableModel
from ..objective import predict
from ..plotting import pyplot, save_figure
from ..registry import load
from .config import TrainConfig
from .setup import load_data


@torch.no_grad()
def decision_regions(model: StableModel, split: DataSplit, path: Path,
                     resolution: int = 200) -> Path:
    """The predicted class on a grid over ``split.domain`` with the validation points."""
    plt = pyplot()
    x0, x1, y0, y1 = _box(split)
    fig, ax = plt.subplots(figsize=(5.5, 5.5 * (y1 - y0) / (x1 - x0) + 0.6))
    _regions(ax, model, split, resolution)
    ax.set_title(f"{split.name}: decision regions (validation)")
    return save_figure(fig, path)


def decision_grid(runs: list[tuple[str, StableModel, DataSplit]], path: Path,
                  cols: int = 5) -> Path:
    """Decision regions of several runs ``(title, model, split)`` in one figure."""
    plt = pyplot()
    rows = -(-len(runs) // cols)
    fig, axes = plt.subplots(rows, min(cols, len(runs)), figsize=(3 * min(cols, len(runs)),
                             3 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (title, model, split) in zip(axes.ravel(), runs, strict=False):
        ax.axis("on")
        _regions(ax, model, split, 120)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    return save_figure(fig, path)


def _box(split: DataSplit) -> tuple[float, float, float, float]:
    if split.domain is not None:
        return tuple(split.domain)
    lo, hi = split.x_val.min(0).values.tolist(), split.x_val.max(0).values.tolist()
    return lo[0], hi[0], lo[1], hi[1]


@torch.no_grad()
def _regions(ax: Any, model: StableModel, split: DataSplit, resolution: int) -> None:
    x_val, y_val = split.x_val.cpu(), split.y_val.cpu()
    x0, x1, y0, y1 = _box(split)
    p = next(model.parameters())
    gx, gy = torch.meshgrid(torch.linspace(x0, x1, resolution),
                            torch.linspace(y0, y1, resolution), indexing="xy")
    grid = torch.stack([gx.ravel(), gy.ravel()], 1).to(p.device, p.dtype)
    model.eval()
    pred = model(grid).argmax(1).reshape(resolution, resolution).cpu()
    k = split.num_classes
    ax.contourf(gx, gy, pred, levels=torch.arange(k + 1) - 0.5, cmap="tab10", vmin=0, vmax=9,
                alpha=0.35)
    ax.scatter(x_val[:, 0], x_val[:, 1], c=y_val, cmap="tab10", vmin=0, vmax=9, s=6,
               edgecolors="k", linewidths=0.2)
    ax.set(xlim=(x0, x1), ylim=(y0, y1))
    ax.set_aspect("equal")


def _project(states: Tensor) -> Tensor:
    """``[B, n]`` -> ``[B, 2]``: the states themselves for n <= 2, else their top-2 PCA."""
    states = states.double()
    if states.shape[1] <= 2:
        return torch.nn.functional.pad(states, (0, 2 - states.shape[1]))
    centred = states - states.mean(0)
    _, _, v = torch.linalg.svd(centred, full_matrices=False)
    return centred @ v[:2].T


@torch.no_grad()
def trajectories(model: StableModel, split: DataSplit, path: Path, panels: int = 5) -> Path:
    """The validation states y_j of the (first) block at ``panels`` layers j across the depth."""
    plt = pyplot()
    p = next(model.parameters())
    x = split.x_val.to(p.device, p.dtype)
    model.eval()
    traj = model.blocks[0](model.embed(x), return_trajectory=True).cpu()
    n = traj.shape[0] - 1
    layers = sorted({round(i * n / (panels - 1)) for i in range(panels)})
    fig, axes = plt.subplots(1, len(layers), figsize=(3.2 * len(layers), 3.4))
    y = split.y_val.cpu()
    for ax, j in zip(axes, layers, strict=True):
        pts = _project(traj[j].reshape(traj.shape[1], -1))
        ax.scatter(pts[:, 0], pts[:, 1], c=y, cmap="tab10", vmin=0, vmax=9, s=4)
        ax.set_title(f"y_{j} (t = {j * model.blocks[0].h:.3g})", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    how = "coordinates" if traj.shape[-1] <= 2 else "PCA projection"
    fig.suptitle(f"{split.name}: features through the layers ({how})", fontsize=10)
    _class_legend(fig, split, plt.get_cmap("tab10"))
    return save_figure(fig, path)


def class_names(split: DataSplit) -> list[str]:
    """The name of each class: the user's label where the data have one, else its index."""
    classes = split.classes or range(split.num_classes)
    return [str(c) for c in classes]


def _class_legend(fig: Any, split: DataSplit, cmap: Any, most: int = 10) -> None:
    """A legend of the class colours (the tab10 colour of class k) in the first panel."""
    names = class_names(split)[:most]
    ax = fig.axes[0]
    handles = [ax.scatter([], [], color=cmap(k % 10), s=12, label=name)
               for k, name in enumerate(names)]
    more = f" (first {most} of {split.num_classes})" if split.num_classes > most else ""
    ax.legend(handles=handles, title="class" + more, loc="best", fontsize=7,
              title_fontsize=7, framealpha=0.8)


def curves(history: list[dict[str, Any]], path: Path) -> Path:
    """Loss and accuracy per epoch, training and validation, with level boundaries (a
    dashed line labelled with the new level and its depth) and integer epoch ticks."""
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator  # lazily: matplotlib is optional
    rows = [r for r in history if r.get("epoch", 0) > 0]
    step = list(range(1, len(rows) + 1))
    fig, (ax_l, ax_a) = plt.subplots(1, 2, figsize=(10, 3.6))
    for key, label in (("train", "training"), ("val", "validation")):
        ax_l.plot(step, [r[f"{key}_loss"] for r in rows], label=label)
        ax_a.plot(step, [r[f"{key}_accuracy"] for r in rows], label=label)
    for i in range(1, len(rows)):
        if rows[i]["level"] != rows[i - 1]["level"]:
            label = f"level {rows[i]['level'] + 1}: depth {rows[i]['depth']}"
            for ax in (ax_l, ax_a):  # the switch: after epoch i, before epoch i + 1
                ax.axvline(i + 0.5, color="grey", lw=0.8, ls="--")
                ax.annotate(label, xy=(i + 0.5, 1.0), xycoords=("data", "axes fraction"),
                            xytext=(3, -3), textcoords="offset points", ha="left", va="top",
                            fontsize=7, color="0.35", rotation=90)
    ax_l.set(xlabel="epoch (over all levels)", ylabel="loss (training: with R)", yscale="log")
    ax_a.set(xlabel="epoch (over all levels)", ylabel="accuracy")
    for ax in (ax_l, ax_a):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_a.legend()
    return save_figure(fig, path)


@torch.no_grad()
def misclassified(model: StableModel, split: DataSplit, path: Path, count: int = 16) -> Path:
    """Up to ``count`` misclassified validation images, titled ``true -> predicted``."""
    plt = pyplot()
    p = next(model.parameters())
    pred = predict(model, split.x_val.to(p.device, p.dtype)).cpu()
    wrong = (pred != split.y_val.cpu()).nonzero().ravel()[:count].tolist()
    cols = 8
    fig, axes = plt.subplots(2, cols, figsize=(cols * 1.4, 3.4))
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), wrong, strict=False):
        img = split.x_val[i].cpu().float()
        img = img[0] if img.shape[0] == 1 else img[:3].permute(1, 2, 0)
        ax.imshow(img.numpy(), cmap="gray")
        ax.set_title(f"{int(split.y_val[i])} -> {int(pred[i])}", fontsize=9)
    fig.suptitle(f"{split.name}: {len(wrong)} misclassified validation images (true -> "
                 "predicted)", fontsize=10)
    return save_figure(fig, path)


def plot_run(run_dir: str | os.PathLike, model: StableModel | None = None,
             split: DataSplit | None = None,
             data_root: str | None = None) -> list[Path]:
    """Write the figures of the run in ``run_dir`` to ``run_dir/figures``; return the paths.

    ``model`` / ``split`` default to the run's ``model.pt`` and its data (reloaded from the
    run's config; ``data_root`` overrides where MNIST-like data is found).
    """
    run_dir = Path(run_dir)
    metrics_path = run_dir / "metrics.json"
    if not metrics_path.is_file():
        raise ConfigError(f"{run_dir} holds no metrics.json; is it a finished `stablenet train` "
                          "run directory?")
    try:
        metrics = json.loads(metrics_path.read_text())
        config = TrainConfig.from_dict(metrics["config"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{metrics_path} is not a valid metrics file ({exc})") from None
    if data_root is not None:
        config.data_root = data_root
    model = model if model is not None else load(run_dir / "model.pt")
    split = split if split is not None else load_data(config)
    out = run_dir / "figures"
    out.mkdir(exist_ok=True)
    paths = [curves(metrics.get("history", []), out / "curves.png")]
    if split.is_image:
        paths.append(misclassified(model, split, out / "misclassified.png"))
    else:
        if split.n_features == 2:
            paths.append(decision_regions(model, split, out / "decision_regions.png"))
        paths.append(trajectories(model, split, out / "trajectories.png"))
    return paths
