"""Say when a run went wrong: validation accuracy near chance, or far below training accuracy.

Chance is the accuracy of always predicting the most common validation class
(``chance_accuracy``; 1/C for balanced classes). With the reported (best-validation)
model's accuracies a_val and a_train:

* near chance: a_val < c + 0.1 (1 - c), i.e. within a tenth of the way from chance c to
  perfect;
* far below training: a_train - a_val > max(0.15, 3 se), with se = sqrt(a (1 - a) / n_val)
  the binomial standard error of the validation accuracy at a = a_train, floored at
  1 / n_val (so a gap that a small validation set makes by chance is not flagged).
"""

from __future__ import annotations

import math
from typing import Any

import torch

NEAR_CHANCE = 0.1
GAP = 0.15


def chance_accuracy(y: torch.Tensor) -> float:
    """The fraction of the most common label in ``y`` (0 for an empty ``y``)."""
    if y.numel() == 0:
        return 0.0
    return float(torch.bincount(y.flatten().cpu()).max()) / y.numel()


def verdict(train_acc: float, val_acc: float, chance: float, n_val: int) -> str | None:
    """One line saying what went wrong and what to try, or None when nothing did."""
    if val_acc < chance + NEAR_CHANCE * (1 - chance):
        where = "and so is" if train_acc < chance + NEAR_CHANCE * (1 - chance) else "while"
        return (f"validation accuracy {val_acc:.3f} is near chance ({chance:.3f}, always the most "
                f"common class) {where} training accuracy ({train_acc:.3f}): try more --epochs, "
                "a smaller --alpha, a different --lr or another --arch (and --standardize "
                "features for raw features)")
    a = min(max(train_acc, 1 / max(n_val, 1)), 1 - 1 / max(n_val, 1))
    se = math.sqrt(a * (1 - a) / max(n_val, 1))
    if train_acc - val_acc > max(GAP, 3 * se):
        return (f"validation accuracy {val_acc:.3f} is far below training accuracy "
                f"{train_acc:.3f} (overfitting): try a larger --beta or --alpha, fewer --epochs, "
                "a smaller --width or --depth, or more training data")
    return None


def run_verdict(metrics: dict[str, Any]) -> str | None:
    """:func:`verdict` on a run's metrics (its best-validation model)."""
    chance = metrics.get("chance_accuracy")
    if chance is None:
        return None
    return verdict(metrics["best_train_accuracy"], metrics["best_val_accuracy"], chance,
                   metrics["n_val"])
