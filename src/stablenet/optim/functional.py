"""The training objective seen as functions of flat parameter vectors.

The objective is ``f = mean cross-entropy(model(x), y) + regularization(model, alpha, beta)``
(:mod:`stablenet.objective`). The optimizers of this package split the parameters
into the classifier ``(W, mu)`` (the parameters of ``model.classifier``) and the network
``theta`` (every other trainable parameter: blocks, opening, connectors), and evaluate the
objective with :func:`torch.func.functional_call` at a flat vector, so that
``torch.func`` (grad, jvp, vjp) can differentiate it. Nothing is cached between calls:
the parameter lists are read from the model each time (multilevel training swaps blocks).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.func import functional_call

from ..errors import ConfigTypeError
from ..interfaces import StableModel
from ..memory import Store
from ..objective import regularization, weight_decay

_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def check_model(model: object) -> StableModel:
    """The model if it has ``.classifier`` (an ``nn.Linear``) and ``.blocks``, else raise."""
    if not isinstance(model, nn.Module) or not isinstance(
        getattr(model, "classifier", None), nn.Linear
    ) or not hasattr(model, "blocks"):
        raise ConfigTypeError(
            "block coordinate descent needs a stablenet model with a linear `.classifier` and "
            f"`.blocks` (StableClassifier or StableImageNet), got {type(model).__name__}"
        )
    return model


def split_parameters(model: StableModel) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """``(network, classifier)`` trainable parameters by name, read from the model now."""
    classifier_ids = {id(p) for p in model.classifier.parameters()}
    network, classifier = {}, {}
    for name, p in model.named_parameters():
        if p.requires_grad:
            (classifier if id(p) in classifier_ids else network)[name] = p
    return network, classifier


def flatten(tensors: dict[str, Tensor]) -> Tensor:
    """Concatenate the (detached) tensors of a dict into one 1-D vector (empty if none)."""
    if not tensors:
        return torch.zeros(0)
    return torch.cat([t.detach().reshape(-1) for t in tensors.values()])


def unflatten(vec: Tensor, like: dict[str, Tensor]) -> dict[str, Tensor]:
    """Split a flat vector back into tensors with the names and shapes of ``like``."""
    if not like:
        return {}
    sizes = [t.numel() for t in like.values()]
    parts = torch.split(vec, sizes)
    return {name: part.view(t.shape) for (name, t), part in zip(like.items(), parts, strict=True)}


def write_back(params: dict[str, Tensor], vec: Tensor) -> None:
    """Copy a flat vector into the model's parameters in place (identity is kept)."""
    with torch.no_grad():
        for p, new in zip(params.values(), unflatten(vec, params).values(), strict=True):
            p.copy_(new)


class _Regularizer(nn.Module):
    """``forward() = regularization(model, alpha, beta)``, so that functional_call can
    evaluate it at substituted parameters (named ``model.<name>``)."""

    def __init__(self, model: StableModel, alpha: float, beta: float) -> None:
        super().__init__()
        self.model, self.alpha, self.beta = model, alpha, beta

    def forward(self) -> Tensor:
        return regularization(self.model, self.alpha, self.beta)


class _WeightDecay(nn.Module):
    """``forward() = weight_decay(classifier, beta)`` (names ``classifier.weight/bias``)."""

    def __init__(self, classifier: nn.Linear, beta: float) -> None:
        super().__init__()
        self.classifier, self.beta = classifier, beta

    def forward(self) -> Tensor:
        return weight_decay(self.classifier, self.beta)


def regularizer_fn(model: StableModel, like: dict[str, Tensor], alpha: float, beta: float):
    """``theta -> regularization(model at theta, alpha, beta)`` for flat ``theta`` (the
    parameters named in ``like``; the others keep their current values)."""
    wrapper = _Regularizer(model, alpha, beta)

    def reg(vec: Tensor) -> Tensor:
        params = {f"model.{k}": v for k, v in unflatten(vec, like).items()}
        return functional_call(wrapper, params, ())

    return reg


def weight_decay_fn(classifier: nn.Linear, like: dict[str, Tensor], beta: float):
    """``(W, mu) -> beta/2 (|W|^2 + |mu|^2)`` for the flat classifier vector."""
    wrapper = _WeightDecay(classifier, beta)

    def decay(vec: Tensor) -> Tensor:
        params = {f"classifier.{k}": v for k, v in unflatten(vec, like).items()}
        return functional_call(wrapper, params, ())

    return decay


def accuracy(logits: Tensor, y: Tensor) -> float:
    """Fraction of rows whose arg-max logit is the label."""
    return float((logits.argmax(dim=-1) == y).to(torch.float64).mean())


@contextmanager
def frozen_batch_norm_stats(model: nn.Module) -> Iterator[None]:
    """Within the block, batch-norm layers in training mode normalise with the batch
    statistics but do not update their running statistics (which a function transform
    could not mutate, and which line-search trials must not change)."""
    changed = [
        m for m in model.modules()
        if isinstance(m, _BATCH_NORMS) and m.training and m.track_running_stats
    ]
    for m in changed:
        m.track_running_stats = False
    try:
        yield
    finally:
        for m in changed:
            m.track_running_stats = True


@contextmanager
def stored_graph(model: StableModel) -> Iterator[None]:
    """Within the ``with``, every block runs in :class:`~stablenet.memory.Store` mode, through
    :meth:`StableBlock.using_memory` (validated); then each block's own mode is back.

    The curvature products differentiate the backward pass again (reverse over reverse)
    and use ``torch.func``, which neither the reversible custom backward nor checkpointing's
    saved-tensor hooks support; the memory modes never change values, so the optimizer
    only loses their memory saving during its own step.
    """
    with ExitStack() as stack:
        for blk in model.blocks:
            if hasattr(blk, "using_memory"):
                stack.enter_context(blk.using_memory(Store()))
        yield


@dataclass
class SolverStats:
    """Counters shared by the Newton-CG and Gauss-Newton-CG solvers; ``value`` is the
    objective at the last accepted point (NaN if none)."""

    iters: int = 0
    cg_iters: int = 0
    function_evals: int = 0
    gradient_evals: int = 0
    line_search_failures: int = 0
    value: float = float("nan")

    def record_line_search(self, trials: int, step: float) -> bool:
        """Count one iteration's Armijo search; False (a failure) if it found no step."""
        self.function_evals += trials
        self.iters += 1
        if step == 0.0:
            self.line_search_failures += 1
            return False
        return True
