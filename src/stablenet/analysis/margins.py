"""The discrete stability check of every layer, with the integrator's own stability region.

For layer j with first-order eigenvalues lambda (see :meth:`BlockSpectrum.system`) the
margin is ``min_lambda integrator.stability_margin(h lambda)`` (>= 0 stable):

* forward Euler (Haber & Ruthotto 2018, Lemma 1): 1 - max |1 + h lambda|;
* Verlet / leapfrog: 2 - h |lambda| for lambda on the imaginary axis, and -|Re(h lambda)|
  off it (those schemes are unstable for any eigenvalue off the axis); the midpoint rule
  alike with 1 - h |lambda|.

Without data the eigenvalues are those of the weight operators (the linearisation with
sigma' = 1); with data those of the Jacobians at the states of the data (worst sample).

Approximate spectra (Arnoldi Ritz values of large convolutional operators) give accurate
moduli but, for non-normal Jacobians such as the Hamiltonian one at data states, real
parts off by ~1e-3 |lambda|. For integrators whose region is a segment of the imaginary
axis (Verlet, leapfrog, midpoint), where any real part counts as unstable, the Ritz values are
therefore moved onto the axis (|lambda| kept) and only h |lambda| <= 2 is checked: the
library's fields for these integrators have imaginary spectra by construction.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ..interfaces import Integrator
from .network import stable_blocks
from .spectra import BlockSpectrum, spectra

TOL = 1e-8
RANGE = 1e4  # the fix searches steps down to h / RANGE (depth x RANGE)
STABLE_ARCHITECTURES = ("hamiltonian, leapfrog or antisymmetric (which stablenet train "
                        "integrates by the midpoint rule)")


@dataclass(frozen=True, eq=False)
class BlockMargins:
    """Per-layer stability margins of one block.

    Attributes:
        margins: ``[N]`` min over the layer's eigenvalues of the integrator's margin.
        eigenvalues: ``[N]`` complex, the eigenvalue attaining it (first-order system).
        h, T: step and final time; integrator: its name; source: "weights" or "data".
        max_h: ``[N]`` the largest step h' <= h at which the layer passes (bisection in
            log h' to float64 precision), 0 if no step down to h / 1e4 helps (e.g. Re lambda > 0 for
            forward Euler, lambda off the imaginary axis for Verlet/leapfrog).
        approximate: "" for exact spectra, else what was approximated.
    """

    margins: Tensor
    eigenvalues: Tensor
    max_h: Tensor
    h: float
    T: float
    integrator: str
    source: str
    tol: float = TOL
    approximate: str = ""  # why the margins are approximate ("" when exact)
    gamma: float | None = None  # the damping of an antisymmetric block (None: none)

    @property
    def unstable_layers(self) -> list[int]:
        # NaN counts as unstable: a margin that cannot be computed is no proof of stability
        return torch.nonzero(~(self.margins >= -self.tol)).flatten().tolist()

    @property
    def stable(self) -> bool:
        return not self.unstable_layers

    @property
    def min_margin(self) -> float:
        return float(self.margins.min())

    def required_depth(self) -> int | None:
        """The smallest depth at the same T that passes every layer; None if none does."""
        h_ok = float(self.max_h.min())
        if h_ok <= 0:
            return None
        return max(len(self.margins), math.ceil(self.T / h_ok * (1 - 1e-9)))


def _margin_at(integrator: Integrator, hs: Tensor, lam: Tensor) -> Tensor:
    """``[N]``: per layer, the min over its eigenvalues of the margin at step ``hs[layer]``."""
    return integrator.stability_margin(hs[:, None] * lam).min(dim=1).values


def _max_stable_h(integrator: Integrator, h: float, lam: Tensor, tol: float) -> Tensor:
    """Per layer, the largest h' in [h / RANGE, h] with margin >= -tol (bisection in log h'),
    0 where even h / RANGE fails. The regions of the library's integrators are star-shaped
    about 0 along every ray (|1 + h lambda| <= 1 and h |lambda| <= 2), so bisection applies."""
    lo = torch.full((lam.shape[0],), math.log(h / RANGE), dtype=torch.float64)
    hi = torch.full_like(lo, math.log(h))
    passes_at_h = _margin_at(integrator, hi.exp(), lam) >= -tol
    feasible = _margin_at(integrator, lo.exp(), lam) >= -tol
    for _ in range(60):  # to float64 precision
        mid = 0.5 * (lo + hi)
        good = _margin_at(integrator, mid.exp(), lam) >= -tol
        lo, hi = torch.where(good, mid, lo), torch.where(good, hi, mid)
    best = torch.where(passes_at_h, torch.full_like(lo, h), lo.exp())
    return torch.where(feasible, best, torch.zeros_like(best))


def region_is_imaginary_segment(integrator: Integrator) -> bool:
    """True if the integrator's region contains no real h lambda near 0 but 0 +- i eps."""
    probe = torch.tensor([-1e-3, 1e-3, 1e-3j, -1e-3j], dtype=torch.complex128)
    margin = integrator.stability_margin(probe)
    return bool((margin[:2] < 0).all() and (margin[2:] >= 0).all())


def onto_imaginary_axis(lam: Tensor) -> Tensor:
    """i |lambda| sign(Im lambda) (sign + for real lambda)."""
    sign = torch.where(lam.imag >= 0, 1.0, -1.0).to(lam.real.dtype)
    return torch.complex(torch.zeros_like(lam.real), sign * lam.abs())


def damping(block: nn.Module) -> float | None:
    """The damping gamma of a block whose parametrisation has one (antisymmetric), else None."""
    return getattr(getattr(block, "parametrization", None), "gamma", None)


def block_margins(spec: BlockSpectrum, T: float, source: str | None = None,
                  tol: float = TOL, gamma: float | None = None) -> BlockMargins:
    """Margins from a spectrum (``source`` defaults to "data" when it has data); ``gamma``:
    the block's damping, for the advice of :func:`instability_message`."""
    source = source or ("data" if spec.data is not None else "weights")
    lam = spec.system(source)
    approximate = "" if spec.exact else "Arnoldi Ritz values"
    if not spec.exact and region_is_imaginary_segment(spec.integrator):
        lam = onto_imaginary_axis(lam)
        approximate += ", |lambda| only"
    margin = spec.integrator.stability_margin(spec.h * lam)
    worst = margin.argmin(dim=1, keepdim=True)
    return BlockMargins(
        margins=margin.gather(1, worst).squeeze(1),
        eigenvalues=lam.gather(1, worst).squeeze(1),
        max_h=_max_stable_h(spec.integrator, spec.h, lam, tol),
        h=spec.h, T=T, integrator=spec.integrator.name, source=source, tol=tol,
        approximate=approximate, gamma=gamma,
    )


def stability_margins(
    model_or_block: nn.Module, x: Tensor | None = None, *, tol: float = TOL, **kwargs: Any
) -> BlockMargins | list[BlockMargins]:
    """The integrator's discrete stability check of every layer: a :class:`BlockMargins`
    for a block, a list (one per ``model.blocks``) for a model.

    Without ``x`` it costs one small eigenvalue problem per layer (dense: width x width, or
    2 width for Hamiltonian); with ``x`` one per layer and sample. ``kwargs`` go to
    :func:`spectra` (``samples``, ``image_size``, ``exact_max``, ``arnoldi_steps``).
    """
    specs = spectra(model_or_block, x, **kwargs)
    single = not isinstance(specs, list)
    specs = [specs] if single else specs
    blocks = stable_blocks(model_or_block)
    result = [block_margins(s, blk.T, tol=tol, gamma=damping(blk))
              for s, blk in zip(specs, blocks, strict=True)]
    return result[0] if single else result


def required_damping(margins: BlockMargins) -> float | None:
    """The damping gamma that puts every layer's worst eigenvalue inside the forward-Euler disc.

    For lambda = -g/2 + i w (g = the damping now in lambda), |1 + h lambda| <= 1 needs
    g >= (2/h) (1 - sqrt(1 - h^2 w^2)) (about h w^2), possible only for h |w| <= 1. Raising
    gamma by d moves Re lambda by -d/2 (exactly for the weights; about, scaled by sigma',
    for the Jacobians at data). None when no damping helps (h |w| > 1) or for no gamma.
    """
    if margins.gamma is None or margins.integrator != "euler":
        return None
    lam = margins.eigenvalues[margins.margins < -margins.tol].to(torch.complex128)
    hw = margins.h * lam.imag.abs()
    if lam.numel() == 0 or bool((hw >= 1).any()):
        return None
    g_min = (2.0 / margins.h) * (1.0 - torch.sqrt(1.0 - hw**2))
    return float((margins.gamma + g_min + 2.0 * lam.real).max()) * 1.01


def instability_message(margins: BlockMargins, block_index: int | None = None) -> str:
    """One paragraph: the first unstable layer, how unstable, and the fixes that fit it."""
    j = margins.unstable_layers[0]
    lam = complex(margins.eigenvalues[j])
    text = "" if block_index is None else f"block {block_index}: "
    text += (
        f"{len(margins.unstable_layers)} of {len(margins.margins)} layers "
        f"are unstable for {margins.integrator} at h = {margins.h:g} ({margins.source}); the "
        f"first is layer {j}: margin {float(margins.margins[j]):.3g} < 0 at lambda = "
        f"{lam.real:.4g}{lam.imag:+.4g}i. "
    )
    if margins.integrator == "euler":  # max_j |1 + h lambda_j| = 1 - margin_j, per layer
        growth = float(torch.prod(1.0 - margins.margins.double().clamp(max=0.0)))
        text += f"Over all layers the linearised step can grow by up to {growth:.3g}x. "
    depth, gamma = margins.required_depth(), required_damping(margins)
    fixes = []
    undamp = bool(margins.gamma) and margins.integrator != "euler"
    if undamp:  # damping moves the spectrum off the region's axis
        fixes.append(f"no damping (--gamma 0; now gamma = {margins.gamma:g}): the "
                     f"{margins.integrator} region is a segment of the imaginary axis")
    elif margins.gamma is not None and margins.integrator == "euler":  # damping on the axis
        text += (f"Forward Euler grows by |1 + i h w| > 1 per layer on the imaginary axis and "
                 f"needs the damping gamma >= about h w^2 (now gamma = {margins.gamma:g}). ")
        if gamma is not None:
            about = "about " if margins.source == "data" else ""
            fixes.append(f"more damping, gamma >= {about}{gamma:.3g} (--gamma)")
    if depth is not None:
        fixes.append(f"a smaller step h = T / N (depth >= {depth} layers at the same "
                     f"T = {margins.T:g}, or a smaller T; train at that depth: refining a "
                     "trained network can change its function)")
    if margins.integrator == "euler":
        fixes.append("an architecture that is stable without damping (hamiltonian, leapfrog)"
                     if margins.gamma is not None else
                     f"a stable architecture ({STABLE_ARCHITECTURES})")
    if fixes and (depth is not None or gamma is not None or undamp):
        return text + "Fix: " + "; or ".join(fixes) + "."
    return text + (
        f"No step size down to h / {RANGE:g} makes it stable (the eigenvalue lies outside "
        f"the stability region of {margins.integrator}): use "
        + ("; or ".join(fixes[-1:]) if margins.integrator == "euler" else "a smaller T")
        + " or constrain K."
    )


def check_stability(
    model_or_block: nn.Module, x: Tensor | None = None, *, tol: float = TOL, **kwargs: Any
) -> bool:
    """Run :func:`stability_margins` and ``warnings.warn`` (RuntimeWarning) for every block
    with an unstable layer, naming the first one and the fix. Returns True if all pass."""
    result = stability_margins(model_or_block, x, tol=tol, **kwargs)
    result = result if isinstance(result, list) else [result]
    ok = True
    for i, margins in enumerate(result):
        if not margins.stable:
            ok = False
            warnings.warn(instability_message(margins, i), RuntimeWarning, stacklevel=2)
    return ok
