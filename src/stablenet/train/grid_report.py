"""The table of a grid's runs: one row per run, the mean and spread over its seeds.

Accuracies are those of each run's reported model (the best-validation weights, the
paper's rule). Over several seeds a cell reads ``mean ± s (min-max)``, s the sample
standard deviation; the depth column lists each depth with how many seeds chose it.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

#: the columns of the table (after the run's problem and architecture)
COLUMNS = ("depth (levels)", "parameters", "train acc", "val acc", "time (s)")


def spread(values: list[float]) -> dict[str, float]:
    """Mean, sample standard deviation (0 for one value), min and max of ``values``."""
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return {"mean": mean, "std": std, "min": min(values), "max": max(values), "n": n}


def summarize(name: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The row of the run ``name`` from its seeds' metrics (``runs``, each with ``seed``)."""
    depths = Counter(_depth(r["depth"]) for r in runs)
    first = runs[0]
    return {
        "name": name, "dataset": first["dataset"], "arch": first["arch"],
        "seeds": [r["seed"] for r in runs], "depths": dict(depths),
        "levels": first["config"]["levels"], "n_parameters": sorted({r["n_parameters"]
                                                                      for r in runs}),
        "train_accuracy": spread([r["best_train_accuracy"] for r in runs]),
        "val_accuracy": spread([r["best_val_accuracy"] for r in runs]),
        "seconds": spread([r["seconds"] for r in runs]),
    }


def table_row(row: dict[str, Any]) -> str:
    """One markdown row of a :func:`summarize` row (or a skipped run's)."""
    problem, arch = row["dataset"], row["arch"]
    if "skipped" in row:
        return f"| {problem} | {arch} | - | - | - | - | skipped: data not found |"
    depths = row["depths"]
    depth = (next(iter(depths)) if len(depths) == 1
             else ", ".join(f"{d} x{k}" for d, k in sorted(depths.items(), key=_numeric)))
    params = "/".join(str(p) for p in row["n_parameters"])
    cells = [f"{depth} ({row['levels']})", params, _percent(row["train_accuracy"]),
             _percent(row["val_accuracy"]), _seconds(row["seconds"])]
    return f"| {problem} | {arch} | " + " | ".join(cells) + " |"


def table(rows: list[dict[str, Any]]) -> list[str]:
    """The markdown table of ``rows`` (header included)."""
    head = "| problem | architecture | " + " | ".join(COLUMNS) + " |"
    return [head, "|" + "---|" * (2 + len(COLUMNS)), *(table_row(r) for r in rows)]


def _percent(s: dict[str, float]) -> str:
    if s["n"] == 1:
        return f"{100 * s['mean']:.2f}%"
    return (f"{100 * s['mean']:.2f} ± {100 * s['std']:.2f}% "
            f"({100 * s['min']:.2f}-{100 * s['max']:.2f})")


def _seconds(s: dict[str, float]) -> str:
    return f"{s['mean']:.0f}" if s["n"] == 1 else f"{s['mean']:.0f} ± {s['std']:.0f}"


def _depth(depth: Any) -> str:
    return "+".join(str(d) for d in depth) if isinstance(depth, list) else str(depth)


def _numeric(item: tuple[str, int]) -> tuple[int, str]:
    text = item[0].split("+")[0]
    return (int(text) if text.isdigit() else 0, item[0])
