"""The regulariser R = alpha/(2h) sum |theta_{j+1} - theta_j|^2 + beta/2 (|W|^2 + |mu|^2)."""

from __future__ import annotations

import torch

import stablenet
from stablenet.train import objective, regularization, smoothness, weight_decay


@torch.no_grad()
def _direct(model, alpha: float, beta: float) -> float:
    """Transcription of docs/theory.md 4 with explicit loops."""
    total = 0.0
    for block in model.blocks:
        h = block.T / block.depth
        s = 0.0
        for j in range(block.depth - 1):
            s += float(((block.K[j + 1] - block.K[j]) ** 2).sum())
            s += float(((block.b[j + 1] - block.b[j]) ** 2).sum())
        total += alpha / (2 * h) * s
    W, mu = model.classifier.weight, model.classifier.bias
    return total + beta / 2 * (float((W**2).sum()) + float((mu**2).sum()))


@torch.no_grad()
def test_regularization_equals_its_formula_dense(float64):
    torch.manual_seed(0)
    model = stablenet.build_model("resnet", (2,), 3, 4, 6, 3.0, bias="feature")
    with torch.no_grad():
        model.blocks[0].b.normal_()
        model.classifier.bias.normal_()
    for alpha, beta in ((0.5, 0.0), (0.0, 0.25), (5e-3, 1e-3)):
        got = float(regularization(model, alpha, beta))
        assert abs(got - _direct(model, alpha, beta)) < 1e-12 * max(1.0, got)


@torch.no_grad()
def test_regularization_sums_over_image_stages(float64):
    torch.manual_seed(0)
    model = stablenet.build_model("hamiltonian", (1, 8, 8), 4, [2, 3], [3, 2], 2.0)
    with torch.no_grad():
        for block in model.blocks:
            block.b.normal_()
    got = float(regularization(model, 0.3, 0.7))
    assert abs(got - _direct(model, 0.3, 0.7)) < 1e-12 * got
    parts = sum(float(smoothness(b, 0.3)) for b in model.blocks)
    parts += float(weight_decay(model.classifier, 0.7))
    assert abs(got - parts) < 1e-12 * got


def test_objective_is_cross_entropy_plus_regularization(float64):
    torch.manual_seed(0)
    model = stablenet.build_model("leapfrog", (2,), 2, 4, 4, 1.0)
    x, y = torch.randn(10, 2), torch.randint(0, 2, (10,))
    loss, logits = objective(model, x, y, 0.1, 0.2)
    ce = -torch.log_softmax(logits, 1)[torch.arange(10), y].mean()
    torch.testing.assert_close(loss, ce + regularization(model, 0.1, 0.2))
