"""The end-of-run verdict: near chance, or far below training accuracy, or nothing."""

from __future__ import annotations

import pytest
import torch

from stablenet.train.outcome import chance_accuracy, verdict


def test_chance_is_the_most_common_class():
    assert chance_accuracy(torch.tensor([0, 1, 1, 2])) == 0.5
    assert chance_accuracy(torch.tensor([3, 3, 3])) == 1.0
    assert chance_accuracy(torch.tensor([], dtype=torch.long)) == 0.0


@pytest.mark.parametrize("train, val, chance, n, words", [
    (0.34, 0.34, 1 / 3, 300, "near chance (0.333, always the most common class) and so is"),
    (0.95, 0.38, 1 / 3, 300, "near chance (0.333, always the most common class) while"),
    (0.93, 0.58, 0.5, 300, "far below training accuracy 0.930 (overfitting)"),
    (0.99, 0.95, 0.5, 300, None),
    (1.00, 0.80, 0.5, 5, None),      # 1 of 5 wrong more: 3 standard errors exceed the gap
    (0.80, 0.56, 0.5, 10000, "overfitting"),  # above the near-chance line 0.55; gap 0.24
    (0.80, 0.54, 0.5, 10000, "near chance"),  # below it: near chance comes first
])
def test_verdict(train, val, chance, n, words):
    line = verdict(train, val, chance, n)
    assert (line is None) if words is None else (words in line), line
