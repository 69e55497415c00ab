"""A stability report of a model: all four checks, verdict lines, markdown and JSON.

:func:`analyze` runs :func:`spectra`, :func:`stability_margins` (from the weights and, with
data, from the Jacobians at the data), :func:`sensitivity` and :func:`gradient_norms` on
every block; :func:`verdicts` turns them into one line per check and block;
:func:`summary` is the JSON form and :func:`markdown` the report text (figures are made
by :mod:`.figures`, which the CLI calls).

Thresholds: a gradient ratio ||dL/dY_0|| / ||dL/dY_N|| or a worst-case amplification
above ``threshold`` (default 100) is called exploding / amplifying, below 1 / threshold
vanishing / contracting.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor

from ..interfaces import Block, StableModel
from .gradients import GradientNorms, gradient_norms
from .margins import BlockMargins, block_margins, damping, instability_message
from .network import is_block, stable_blocks
from .sensitivity import Sensitivity, sensitivity
from .spectra import BlockSpectrum, spectra

THRESHOLD = 100.0


@dataclass
class Analysis:
    """Everything :func:`analyze` measured, one entry per stable block in each list."""

    blocks: list[dict[str, Any]]
    spectra: list[BlockSpectrum]
    margins_weights: list[BlockMargins]
    margins_data: list[BlockMargins | None]
    sensitivity: list[Sensitivity]
    gradients: list[GradientNorms]
    data: str
    loss: str
    threshold: float = THRESHOLD
    extra: dict[str, Any] = field(default_factory=dict)


def describe_block(block: Block) -> dict[str, Any]:
    return {
        "class": type(block).__name__, "depth": block.depth, "T": block.T, "h": block.h,
        "width": block.width, "operator": block.operator.kind, "form": block.field.form,
        "integrator": block.integrator.name, "parametrization": repr(block.parametrization),
    }


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def analyze(
    model: StableModel | Block, x: Tensor, labels: Tensor | None = None, *, data: str = "",
    spectra_samples: int = 8, seed: int = 0, threshold: float = THRESHOLD,
    progress: Callable[[str], None] | None = None, **spectra_kwargs: Any,
) -> Analysis:
    """Run the four checks on every block of ``model`` (or on a block) at inputs ``x``.

    ``progress(line)``, when given, is called before each check and with its time after
    it (the spectra of a convolutional model take a minute or more on a CPU).
    """
    step = _Steps(progress)
    blocks = stable_blocks(model)
    with step(f"eigenvalues of every layer ({len(blocks)} block(s), weights and Jacobians at "
              f"{spectra_samples} sample(s))"):
        specs = _as_list(spectra(model, x, samples=spectra_samples, **spectra_kwargs))
    with_labels = labels is not None and not is_block(model)
    with step("gradient norms ||dL/dY_j||"):
        grads = gradient_norms(model, x, labels=labels, seed=seed) if with_labels else (
            gradient_norms(model, x, seed=seed))
    pairs = list(zip(specs, blocks, strict=True))
    with step("sensitivity ||Y_j(x + delta) - Y_j(x)|| / ||delta||"):
        sens = _as_list(sensitivity(model, x, seed=seed))
    return Analysis(
        blocks=[describe_block(b) for b in blocks],
        spectra=specs,
        margins_weights=[block_margins(s, b.T, "weights", gamma=damping(b)) for s, b in pairs],
        margins_data=[block_margins(s, b.T, "data", gamma=damping(b)) for s, b in pairs],
        sensitivity=sens,
        gradients=_as_list(grads),
        data=data, loss="mean cross-entropy" if with_labels else "<Y_N, r>, r random unit",
        threshold=threshold,
    )


class _Steps:
    """``with steps("what"):`` reports "what ..." before and "what: N s" after, if asked."""

    def __init__(self, progress: Callable[[str], None] | None) -> None:
        self.progress = progress

    @contextlib.contextmanager
    def __call__(self, what: str) -> Iterator[None]:
        if self.progress is None:
            yield
            return
        self.progress(f"{what} ...")
        start = time.perf_counter()
        yield
        self.progress(f"{what}: {time.perf_counter() - start:.1f} s")


def margin_verdict(m: BlockMargins, i: int) -> str:
    approx = f" (approximate: {m.approximate})" if m.approximate else ""
    if m.stable:
        return (
            f"**Verdict (stability margins, block {i}, {m.source}): STABLE**{approx}: all "
            f"{len(m.margins)} layers pass the {m.integrator} check at h = {m.h:g} "
            f"(smallest margin {m.min_margin:.3g})."
        )
    return f"**Verdict (stability margins, block {i}, {m.source}): UNSTABLE**{approx}: " + (
        instability_message(m))


def _band(value: float, threshold: float, high: str, low: str) -> str:
    if not math.isfinite(value) or value > threshold:
        return high
    return low if value < 1.0 / threshold else "OK"


def gradient_verdict(g: GradientNorms, i: int, threshold: float) -> str:
    word = _band(g.ratio, threshold, "EXPLODING", "VANISHING")
    return (
        f"**Verdict (gradients, block {i}): {word}**: ||dL/dY_0|| / ||dL/dY_N|| = {g.ratio:.3g} "
        f"(OK within [{1 / threshold:g}, {threshold:g}])."
    )


def sensitivity_verdict(s: Sensitivity, i: int, threshold: float) -> str:
    word = _band(s.worst_max, threshold, "AMPLIFIES", "CONTRACTS")
    return (
        f"**Verdict (sensitivity, block {i}): {word}**: worst-case amplification "
        f"{s.worst_max:.3g} (largest singular value of dY_N/dY_0), random perturbations "
        f"{s.random_mean:.3g} (OK within [{1 / threshold:g}, {threshold:g}])."
    )


def verdicts(a: Analysis) -> list[str]:
    lines = []
    for i in range(len(a.spectra)):
        lines.append(margin_verdict(a.margins_weights[i], i))
        if a.margins_data[i] is not None:
            lines.append(margin_verdict(a.margins_data[i], i))
        lines.append(gradient_verdict(a.gradients[i], i, a.threshold))
        lines.append(sensitivity_verdict(a.sensitivity[i], i, a.threshold))
    return lines


def _margins_json(m: BlockMargins | None) -> dict[str, Any] | None:
    if m is None:
        return None
    return {
        "source": m.source, "stable": m.stable, "min_margin": m.min_margin,
        "unstable_layers": m.unstable_layers, "required_depth": m.required_depth(),
        "margins": m.margins.tolist(),
    }


def summary(a: Analysis) -> dict[str, Any]:
    """A JSON-able summary (numbers per block, verdict lines)."""
    blocks = []
    for i, info in enumerate(a.blocks):
        spec, g, s = a.spectra[i], a.gradients[i], a.sensitivity[i]
        lam = spec.system("weights")
        blocks.append({
            **info,
            "exact_spectra": spec.exact,
            "max_real_eigenvalue": float(lam.real.max()),
            "max_abs_eigenvalue": float(lam.abs().max()),
            "margins_weights": _margins_json(a.margins_weights[i]),
            "margins_data": _margins_json(a.margins_data[i]),
            "gradient_ratio": g.ratio, "gradient_norms": g.states.tolist(),
            "param_gradient_norms": g.params.tolist(),
            "sensitivity_worst": s.worst_max, "sensitivity_random": s.random_mean,
            "sensitivity_profile": s.profile.tolist(),
        })
    return {"data": a.data, "loss": a.loss, "threshold": a.threshold, "blocks": blocks,
            "verdicts": verdicts(a), **a.extra}


def markdown(a: Analysis, figures: dict[str, str], title: str = "Stability report") -> str:
    """The report text; ``figures`` maps a figure kind to its file name (relative)."""
    out = [f"# {title}", ""]
    out += [f"- {k}: {v}" for k, v in a.extra.items()]
    out += [f"- data: {a.data}", f"- gradient loss: {a.loss}", ""]
    out += ["## Verdicts", ""] + [f"- {line}" for line in verdicts(a)] + [""]
    out += ["## Blocks", "", "| block | class | depth | T | h | integrator | form | exact |",
            "|---|---|---|---|---|---|---|---|"]
    for i, b in enumerate(a.blocks):
        out.append(f"| {i} | {b['class']} | {b['depth']} | {b['T']:g} | {b['h']:g} | "
                   f"{b['integrator']} | {b['form']} | {a.spectra[i].exact} |")
    captions = {
        "eigenvalues": "Eigenvalues h*lambda of every layer (first-order system) and the "
                       "integrator's stability region (shaded, or the thick segment).",
        "margins": "Stability margin per layer (>= 0 stable).",
        "gradients": "||dL/dY_j|| and ||dL/dtheta_j|| versus layer j.",
        "sensitivity": "||Y_j(x + delta) - Y_j(x)|| / ||delta|| versus layer j (random delta).",
    }
    for kind, name in figures.items():
        out += ["", f"## {kind.capitalize()}", "", captions.get(kind, ""), "",
                f"![{kind}]({name})"]
    return "\n".join(out) + "\n"
