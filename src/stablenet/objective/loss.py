"""The training objective and evaluation (docs/theory.md 1 and 4).

    J(theta) = 1/s sum_i CE(softmax(W^T y_N(x_i) + mu), c_i) + R(theta)

with R the time-smoothness and classifier weight-decay terms of
:func:`stablenet.objective.regularizers.regularization`. Evaluation reports the mean
cross-entropy (without R) and the accuracy, in eval mode and without gradients.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..interfaces import StableModel
from .regularizers import regularization


@dataclass
class Evaluation:
    """Mean cross-entropy ``loss``, ``accuracy`` in [0, 1] and the ``count`` of examples."""

    loss: float
    accuracy: float
    count: int


def objective(
    model: StableModel, x: Tensor, y: Tensor, alpha: float, beta: float,
    autocast: torch.dtype | None = None,
) -> tuple[Tensor, Tensor]:
    """(mean cross-entropy + R, logits) of one batch; R as in :func:`regularization`.

    ``autocast`` (e.g. ``torch.bfloat16``): the forward ``model(x)`` runs under
    ``torch.autocast(x.device.type, dtype=autocast)`` and the loss in float32 (the logits
    cast to float32 at least, R outside autocast)."""
    if autocast is None:
        logits = model(x)
    else:
        with torch.autocast(x.device.type, dtype=autocast):
            logits = model(x)
        logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
    loss = F.cross_entropy(logits, y) + regularization(model, alpha, beta)
    return loss, logits


def correct(logits: Tensor, y: Tensor) -> int:
    """How many rows of ``logits`` predict the label in ``y``."""
    return int((logits.argmax(dim=1) == y).sum())


@torch.no_grad()
def evaluate(model: nn.Module, x: Tensor, y: Tensor, batch_size: int = 1024) -> Evaluation:
    """Mean cross-entropy and accuracy of ``model`` on ``(x, y)``, in batches, in eval mode."""
    was_training = model.training
    model.eval()
    total_loss, total_correct, n = 0.0, 0, int(x.shape[0])
    step = batch_size if batch_size > 0 else max(n, 1)
    for start in range(0, n, step):
        xb, yb = x[start:start + step], y[start:start + step]
        logits = model(xb)
        total_loss += float(F.cross_entropy(logits, yb, reduction="sum"))
        total_correct += correct(logits, yb)
    model.train(was_training)
    return Evaluation(total_loss / max(n, 1), total_correct / max(n, 1), n)


@torch.no_grad()
def predict(model: nn.Module, x: Tensor, batch_size: int = 1024) -> Tensor:
    """Predicted class of every row of ``x`` (eval mode)."""
    was_training = model.training
    model.eval()
    out = [model(x[i:i + batch_size]).argmax(dim=1) for i in range(0, x.shape[0], batch_size)]
    model.train(was_training)
    return torch.cat(out) if out else torch.empty(0, dtype=torch.long)
