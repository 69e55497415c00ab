"""Catching divergence: find the first layer where the states or gradients blew up.

When a step sees a non-finite loss or an exploding gradient norm, :func:`diagnose`
names the cause, in this order, each with its own fixes:

1. inputs that are huge after the model's preprocessing (|x| > ``INPUT_LIMIT``);
2. a regulariser: the objective's terms J = CE + R_theta + R_W are evaluated separately
   with their gradient norms; when the data term CE is finite and a regulariser is not,
   or its gradient is ``DOMINATES`` times the data term's, that regulariser is named
   (tiny T makes R_theta's weight alpha / h huge; a huge alpha or beta);
3. the first layer j whose state y_j is non-finite or larger than ``blowup`` times the
   block's input norm, propagating the batch through every block with
   ``return_trajectory=True`` (along the model's own pipeline, ``embed`` and ``connect``);
4. failing that, the first layer whose weight gradient is non-finite, or the largest.

:class:`DivergenceError` carries the message.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import UserError
from ..interfaces import StableModel
from ..objective.regularizers import smoothness, weight_decay

FIXES = (
    "Fixes: a smaller step h = T/N (more depth at the same T: raise --depth, or lower --T), "
    "a stable architecture (--arch hamiltonian, antisymmetric or leapfrog), or a smaller --lr; "
    "`stablenet analyze` shows the layers' stability margins."
)


INPUT_LIMIT = 1e6
DOMINATES = 10.0


class DivergenceError(UserError, ArithmeticError):
    """Training diverged (non-finite loss or exploding gradients); the message says where."""


def _norms(trajectory: Tensor) -> Tensor:
    """|y_j| per layer j (max over the batch) of a trajectory ``[N + 1, B, ...]``."""
    flat = trajectory.detach().reshape(trajectory.shape[0], trajectory.shape[1], -1)
    norms = flat.double().norm(dim=2)
    return torch.where(torch.isfinite(norms), norms, torch.full_like(norms, math.inf)).amax(1)


@torch.no_grad()
def first_state_blowup(model: StableModel, x: Tensor, blowup: float = 1e6) -> str | None:
    """Where the first state y_j (the output of layer j - 1) explodes, or ``None``."""
    was_training = model.training
    model.eval()
    try:
        y = model.embed(x)
        for i, block in enumerate(model.blocks):
            traj = block(y, return_trajectory=True)
            norms = _norms(traj)
            limit = blowup * max(float(norms[0]), 1.0)
            bad = (~torch.isfinite(norms)) | (norms > limit)
            if bool(bad.any()):
                j = int(bad.nonzero()[0, 0])
                if j == 0:
                    return f"the input of block {i} is already non-finite or huge"
                return (f"the states blow up first in layer {j - 1} of block {i} (weights "
                        f"K_{j - 1}: |y_{j}| = {float(norms[j]):.3g}, |y_0| = "
                        f"{float(norms[0]):.3g}, h = {block.h:g})")
            y = model.connect(i, traj[-1])  # the model's own pipeline between blocks
    finally:
        model.train(was_training)
    return None


def first_gradient_blowup(model: StableModel) -> str | None:
    """Where the weight gradients of the blocks are non-finite (first layer) or largest."""
    worst: tuple[float, int, int] | None = None
    for i, block in enumerate(model.blocks):
        if block.K.grad is None:
            continue
        g = block.K.grad.detach().reshape(block.depth, -1).double().norm(dim=1)
        bad = ~torch.isfinite(g)
        if bool(bad.any()):
            j = int(bad.nonzero()[0, 0])
            return f"the gradients are non-finite first at layer {j} of block {i}"
        j = int(g.argmax())
        if worst is None or float(g[j]) > worst[0]:
            worst = (float(g[j]), i, j)
    if worst is None:
        return None
    return f"the largest weight gradient is at layer {worst[2]} of block {worst[1]} " \
           f"(|dJ/dK_{worst[2]}| = {worst[0]:.3g})"


def huge_inputs(model: StableModel, x: Tensor) -> str | None:
    """The inputs, when they are huge after the model's preprocessing (or None)."""
    with torch.no_grad():
        largest = float(model.preprocess(x).detach().abs().max()) if x.numel() else 0.0
    if not largest > INPUT_LIMIT:
        return None
    return (f"the inputs are huge (the largest |x| is {largest:.3g} after the model's "
            "preprocessing): tanh saturates and the gradients grow with them. Fix: "
            "standardise the features (--standardize features) or rescale the data to O(1)")


def _sizes(term: Tensor, params: list[torch.nn.Parameter]) -> tuple[float, float]:
    """(value, gradient norm) of one term of the objective."""
    grads = torch.autograd.grad(term, params, allow_unused=True, retain_graph=False)
    norms = [g.detach().double().norm() for g in grads if g is not None]
    return float(term.detach()), float(torch.stack(norms).norm()) if norms else 0.0


def term_sizes(model: StableModel, x: Tensor, y: Tensor, alpha: float,
               beta: float) -> dict[str, tuple[float, float]]:
    """(value, gradient norm) of each term of J: ``data`` (CE), ``smoothness``, ``decay``."""
    params = [p for p in model.parameters() if p.requires_grad]
    with torch.enable_grad():
        sizes = {"data": _sizes(F.cross_entropy(model(x), y), params)}
        if alpha:
            sizes["smoothness"] = _sizes(sum(smoothness(b, alpha) for b in model.blocks), params)
        if beta:
            sizes["decay"] = _sizes(weight_decay(model.classifier, beta), params)
    return sizes


def regularizer_blowup(model: StableModel, x: Tensor, y: Tensor, alpha: float,
                       beta: float) -> str | None:
    """The regulariser that drives the divergence, with its fix (or None)."""
    sizes = term_sizes(model, x, y, alpha, beta)
    data_value, data_grad = sizes["data"]
    if not (math.isfinite(data_value) and math.isfinite(data_grad)):
        return None
    for name, (value, grad) in sizes.items():
        finite = math.isfinite(value) and math.isfinite(grad)
        if name == "data" or (finite and grad <= DOMINATES * max(data_grad, 1e-12)):
            continue
        numbers = (f"its value is {value:.3g} and its gradient norm {grad:.3g}, against "
                   f"{data_value:.3g} and {data_grad:.3g} for the data term (cross-entropy)")
        if name == "decay":
            return (f"the classifier weight decay beta/2 |W|^2 drives it: {numbers}, with "
                    f"beta = {beta:g}. Fix: a smaller --beta")
        h = min(b.h for b in model.blocks)
        return (f"the time-smoothness regulariser alpha/(2h) sum_j |K_(j+1) - K_j|^2 drives "
                f"it: {numbers}, with alpha = {alpha:g} and h = T/N = {h:.3g} (its weight is "
                f"alpha/h = {alpha / h:.3g}). Fix: a smaller --alpha, or a larger step h "
                "(a larger --T or fewer layers); a smaller h makes this term larger")
    return None


def diagnose(model: StableModel, x: Tensor, what: str, value: float, where: str,
             y: Tensor | None = None, alpha: float = 0.0, beta: float = 0.0
             ) -> DivergenceError:
    """The error to raise when ``what`` (loss / gradient norm) reached ``value`` at ``where``
    on the batch ``x`` (labels ``y``; ``alpha`` / ``beta`` the regularisers' weights)."""
    head = f"training diverged at {where}: the {what} is {value:.3g}; "
    cause = huge_inputs(model, x)
    if cause is None and y is not None:
        cause = regularizer_blowup(model, x, y, alpha, beta)
    if cause is not None:
        return DivergenceError(head + cause + ".")
    culprit = first_state_blowup(model, x) or first_gradient_blowup(model)
    culprit = culprit or "no single layer stands out (the classifier may have blown up)"
    return DivergenceError(f"{head}{culprit}. {FIXES}")
