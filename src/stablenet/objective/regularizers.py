"""The regularisers of Haber & Ruthotto 2018 (docs/theory.md 4).

* Time smoothness of the stacked block weights, a discretisation (independent of N) of
  alpha/2 * int |d theta/dt|^2 dt:

      R_theta = alpha / (2 h) * sum_{j=0}^{N-2} ( |K_{j+1} - K_j|_F^2 + |b_{j+1} - b_j|^2 )

* Classifier weight decay: beta / 2 * (|W|_F^2 + |mu|^2).
"""

from __future__ import annotations

from torch import Tensor, nn

from ..blocks import StableBlock
from ..interfaces import StableModel
from ..timegrid import smoothness_norm


def smoothness(block: StableBlock, alpha: float) -> Tensor:
    """alpha / (2h) * sum_j (|K_{j+1} - K_j|^2 + |b_{j+1} - b_j|^2) of one block."""
    return alpha * (smoothness_norm(block.K, block.h) + smoothness_norm(block.b, block.h))


def weight_decay(classifier: nn.Linear, beta: float) -> Tensor:
    """beta / 2 * (|W|_F^2 + |mu|^2)."""
    total = classifier.weight.pow(2).sum()
    if classifier.bias is not None:
        total = total + classifier.bias.pow(2).sum()
    return 0.5 * beta * total


def regularization(model: StableModel, alpha: float, beta: float) -> Tensor:
    """R = sum over the model's blocks of the smoothness term + classifier weight decay."""
    reg = model.classifier.weight.new_zeros(())
    if alpha:
        for block in model.blocks:
            reg = reg + smoothness(block, alpha)
    if beta:
        reg = reg + weight_decay(model.classifier, beta)
    return reg
