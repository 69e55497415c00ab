"""Tables and figures of the depth study (:mod:`stablenet.train.depth_study`).

:func:`markdown` writes, per table (fixed T, fixed h), one block of rows problem x
architecture with a column per depth for each quantity; :func:`figures` draws, per table,
four panels per problem (validation accuracy, time, gradient ratio, weight distance to
the 4N run) against N on log axes.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..plotting import pyplot, save_figure

QUANTITIES = (  # (key, table title, cell format, figure panel title)
    ("val_accuracy", "best validation accuracy", lambda v: f"{100 * v:.1f}%",
     "best validation accuracy"),
    ("seconds", "training time (s)", lambda v: f"{v:.0f}" if v >= 10 else f"{v:.1f}",
     "training time (s)"),
    ("gradient_ratio", "gradient ratio ||dL/dY_0|| / ||dL/dY_N|| (trained)", lambda v: f"{v:.3g}",
     "||dL/dY_0|| / ||dL/dY_N||"),
    ("distance_to_4n", "relative L2(0, T) distance of the weights trained at N and 4N",
     lambda v: f"{v:.3g}", "weights: distance N to 4N"),
)


def _value(rows: list[dict[str, Any]], key: str, **match: Any) -> Any:
    for r in rows:
        if all(r[k] == v for k, v in match.items()):
            return r.get(key)
    return None


def _cell(value: Any, fmt) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return fmt(value)


def markdown(rows: list[dict[str, Any]], header: str = "") -> str:
    """The study as markdown tables (one per table kind and quantity)."""
    lines = [header] if header else []
    for table in dict.fromkeys(r["table"] for r in rows):
        sub = [r for r in rows if r["table"] == table]
        depths = sorted({r["depth"] for r in sub})
        for key, title, fmt, _ in QUANTITIES:
            if key == "distance_to_4n" and table != "fixed-T":
                continue
            lines += ["", f"### {table}: {title}", "",
                      "| problem | architecture | " + " | ".join(f"N={d}" for d in depths) + " |",
                      "|---|---|" + "---|" * len(depths)]
            for problem in dict.fromkeys(r["problem"] for r in sub):
                for arch in dict.fromkeys(r["arch"] for r in sub if r["problem"] == problem):
                    cells = [_cell(_value(sub, key, problem=problem, arch=arch, depth=d), fmt)
                             if not (key == "val_accuracy" and _value(
                                 sub, "diverged", problem=problem, arch=arch, depth=d))
                             else "diverged" for d in depths]
                    lines.append(f"| {problem} | {arch} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def figures(rows: list[dict[str, Any]], out: Path) -> list[Path]:
    """``out/depth_study_<table>.png`` per table kind; returns the paths."""
    plt, paths = pyplot(), []
    for table in dict.fromkeys(r["table"] for r in rows):
        sub = [r for r in rows if r["table"] == table]
        problems = list(dict.fromkeys(r["problem"] for r in sub))
        keys = [q for q in QUANTITIES if q[0] != "distance_to_4n" or table == "fixed-T"]
        fig, axes = plt.subplots(len(problems), len(keys), squeeze=False,
                                 figsize=(3.6 * len(keys), 3.0 * len(problems)))
        for i, problem in enumerate(problems):
            for k, (key, _, _, panel) in enumerate(keys):
                ax = axes[i][k]
                for arch in dict.fromkeys(r["arch"] for r in sub if r["problem"] == problem):
                    pts = sorted((r["depth"], r[key]) for r in sub if r["problem"] == problem
                                 and r["arch"] == arch and r.get(key) is not None)
                    if pts:
                        ax.plot(*zip(*pts, strict=True), marker="o", label=arch)
                if not ax.lines:  # nothing measured (e.g. no 4N run): say so, no empty axes
                    ax.text(0.5, 0.5, "not measured", ha="center", va="center",
                            transform=ax.transAxes, color="0.5")
                    ax.set_xticks([]), ax.set_yticks([])
                    ax.set_title(f"{problem}: {panel}", fontsize=9)
                    continue
                ax.set_xscale("log", base=2)
                if key != "val_accuracy":
                    ax.set_yscale("log")
                ax.set_xlabel("depth N")
                ax.set_title(f"{problem}: {panel}", fontsize=9)
        axes[0][0].legend(fontsize=7)
        fig.suptitle(f"depth study, {table}")
        paths.append(save_figure(fig, out / f"depth_study_{table}.png"))
    return paths
