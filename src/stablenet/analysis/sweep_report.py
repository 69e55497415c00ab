"""The depth sweep's outputs: markdown tables, JSON and figures (see :mod:`.sweep`)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from ..io import ensure_writable_dir, save_text
from .figures import plot_depth_sweep
from .sweep import summarise

METRICS = {
    "grad_ratio": "||dL/dY_0|| / ||dL/dY_N||",
    "sens_worst": "worst-case sensitivity: max over samples of sigma_max(dY_N/dY_0)",
    "sens_random": "random-perturbation sensitivity ||Y_N(x+d) - Y_N(x)|| / ||d||",
}


OVERFLOW = ("**inf / nan**: the states or their derivatives overflow float64 (a growth "
            "beyond 1e308; nan where two overflows meet): at this h the networks are far "
            "outside every stability region.")


def overflowed(records: list[dict[str, Any]]) -> bool:
    """True if a measured value of the sweep is inf or nan."""
    return any(not math.isfinite(r[k]) for r in records for k in METRICS if k in r)


def fmt(value: float) -> str:
    """3 significant digits; scientific outside [0.01, 1000)."""
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value == 0 or 0.01 <= abs(value) < 1000:
        return f"{value:.3g}"
    return f"{value:.2e}"


def table(summary: dict, regimes: list[str], archs: list[str], depths: list[int]) -> list[str]:
    """Rows (regime, arch), columns depths; cells: median over seeds."""
    lines = ["| regime | architecture | " + " | ".join(f"N={n}" for n in depths) + " |",
             "|---|---|" + "---|" * len(depths)]
    for regime in regimes:
        for arch in archs:
            cells = [fmt(summary[(regime, arch, n)][0]) if (regime, arch, n) in summary else ""
                     for n in depths]
            lines.append(f"| {regime} | {arch} | " + " | ".join(cells) + " |")
    return lines


def sweep_markdown(records: list[dict[str, Any]], params: dict[str, Any]) -> str:
    regimes = list(dict.fromkeys(r["regime"] for r in records))
    archs = list(dict.fromkeys(r["arch"] for r in records))
    depths = sorted({r["depth"] for r in records})
    out = ["# Depth sweep", "", f"Command: `{params['command']}`", "",
           f"h = {params['h']:g} (T = N h), width {params['width']}, {params['seeds']} seeds, "
           f"{params['samples']} input samples; K entries i.i.d. N(0, 1/width) for every "
           "architecture, b = 0. Cells: median over seeds (min and max in depth_sweep.json).",
           ""]
    if overflowed(records):
        out += [OVERFLOW, ""]
    for key, label in METRICS.items():
        out += [f"## {label}", ""] + table(summarise(records, key), regimes, archs, depths) + [""]
    pred = summarise(records, "predicted_discrete")
    if pred:
        out += ["## Linear prediction rho^N (identity regime; rho = spectral radius of the "
                "one-step matrix)", ""]
        out += table(pred, ["identity"], archs, depths) + [""]
        cont = summarise(records, "predicted_continuous")
        out += ["## Continuous prediction exp(max Re(lambda) T) (identity regime)", ""]
        out += table(cont, ["identity"], archs, depths) + [""]
    return "\n".join(out)


def write_sweep(records: list[dict[str, Any]], params: dict[str, Any],
                out: str | os.PathLike, figures: bool = True) -> list[Path]:
    """Write depth_sweep.md, depth_sweep.json and (``figures``) the log-log PNGs."""
    out = ensure_writable_dir(out)
    written = [out / "depth_sweep.md", out / "depth_sweep.json"]
    save_text(sweep_markdown(records, params), written[0])
    save_text(json.dumps({"params": params, "records": records}, indent=1), written[1])
    if figures:
        regimes = list(dict.fromkeys(r["regime"] for r in records))
        archs = list(dict.fromkeys(r["arch"] for r in records))
        pred = summarise(records, "predicted_discrete")
        for key, name, ylabel in (
            ("grad_ratio", "depth_sweep_gradients.png", "||dL/dY_0|| / ||dL/dY_N||"),
            ("sens_worst", "depth_sweep_sensitivity.png", "worst-case sensitivity"),
        ):
            plot_depth_sweep(summarise(records, key), pred, regimes, archs, ylabel,
                             out / name, params["h"])
            written.append(out / name)
    return written
