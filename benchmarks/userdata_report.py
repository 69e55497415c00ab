"""The markdown report of ``benchmarks/userdata.py``: accuracy and stability tables per set.

Accuracy: mean test accuracy (%) over the seeds per method; the reference of a problem is
the better of ``mlp`` and ``logistic``; ``gap`` is the worst architecture's shortfall to it
in points (negative: every architecture beats it). Stability: per architecture, the runs
whose initial network ``train`` flagged as unstable, and the smallest stability margin of
the trained networks (< 0: unstable at test data).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

REFERENCES = ("mlp", "logistic")


def _mean(rows: Sequence[Any], method: str) -> float:
    return statistics.fmean(r.test_accuracy for r in rows if r.method == method)


def gaps(rows: Sequence[Any], archs: Sequence[str]) -> dict[str, float]:
    """Per problem: the worst architecture's gap to the better reference, in points."""
    out = {}
    for problem in dict.fromkeys(r.problem for r in rows):
        mine = [r for r in rows if r.problem == problem]
        ref = max(_mean(mine, m) for m in REFERENCES)
        out[problem] = max(100 * (ref - _mean(mine, a)) for a in archs) if archs else 0.0
    return out


def accuracy_table(rows: Sequence[Any], archs: Sequence[str], which: str,
                   target: float) -> list[str]:
    rows = [r for r in rows if r.set == which]
    methods = [*REFERENCES, *archs]
    lines = [f"### {which} problems", "",
             "| problem | n | features | classes | " + " | ".join(methods)
             + " | gap to reference (points) |",
             "|---" * (len(methods) + 5) + "|"]
    gap = gaps(rows, archs)
    for problem, g in gap.items():
        mine = [r for r in rows if r.problem == problem]
        r0 = mine[0]
        lines.append(f"| {problem} | {r0.n} | {r0.features} | {r0.classes} | "
                     + " | ".join(f"{100 * _mean(mine, m):.1f}" for m in methods)
                     + f" | {g:+.1f} |")
    met = sum(g <= target for g in gap.values())
    mean_gap = {a: statistics.fmean(100 * (max(_mean([r for r in rows if r.problem == p], m)
                                                   for m in REFERENCES)
                                               - _mean([r for r in rows if r.problem == p], a))
                                    for p in gap) for a in archs}
    lines += ["", f"Every architecture within {target:g} points of the reference on {met} of "
              f"{len(gap)} {which} problems; mean gap per architecture: "
              + ", ".join(f"{a} {g:+.1f}" for a, g in mean_gap.items()) + ".", ""]
    return lines


def stability_table(rows: Sequence[Any], archs: Sequence[str], which: str) -> list[str]:
    rows = [r for r in rows if r.set == which and r.method in archs]
    lines = [f"Stability, {which} problems (init warnings / runs; smallest trained margin):", "",
             "| problem | " + " | ".join(archs) + " |", "|---" * (len(archs) + 1) + "|"]
    for problem in dict.fromkeys(r.problem for r in rows):
        cells = []
        for a in archs:
            mine = [r for r in rows if r.problem == problem and r.method == a]
            warned = sum(bool(r.init_warning) for r in mine)
            cells.append(f"{warned}/{len(mine)}; {min(r.trained_margin for r in mine):.2f}")
        lines.append(f"| {problem} | " + " | ".join(cells) + " |")
    return lines + [""]


def cpu_line(rows: Sequence[Any], archs: Sequence[str]) -> str:
    total = sum(r.cpu_s for r in rows)
    per = {m: sum(r.cpu_s for r in rows if r.method == m) for m in (*REFERENCES, *archs)}
    return (f"CPU time {total:.0f} s in all (" + ", ".join(f"{m} {t:.0f} s" for m, t in per.items())
            + ").")
