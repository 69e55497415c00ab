"""gradient_norms(): against autograd on direct transcriptions of docs/theory.md 3 with probes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import stablenet
from stablenet.analysis import gradient_norms
from stablenet.analysis.gradients import unit_direction

SCHEMES = ["resnet", "antisymmetric", "hamiltonian", "leapfrog", "parabolic"]


def transcription(arch: str, K: torch.Tensor, b: torch.Tensor, h: float, x: torch.Tensor,
                  probes: list[torch.Tensor]) -> torch.Tensor:
    """Y_N of docs/theory.md 3.1-3.5 (rows: K y -> y @ K.T), with probes[j] added to Y_j.

    K is the applied weight (for the antisymmetric net: 1/2 (K - K^T - gamma I)).
    dL/dprobes[j] at probes = 0 is dL/dY_j with Y_j a variable wherever the loop uses it.
    """
    s = torch.tanh
    y = x + probes[0]
    y_prev, z = y, torch.zeros_like(x)
    for j in range(len(K)):
        Kj, bj = K[j], b[j]
        if arch in ("resnet", "antisymmetric"):
            new = y + h * s(y @ Kj.T + bj)
        elif arch == "parabolic":
            new = y - h * s(y @ Kj.T + bj) @ Kj
        elif arch == "hamiltonian":
            z = z - h * s(y @ Kj + bj)
            new = y + h * s(z @ Kj.T + bj)
        else:  # leapfrog
            new = 2 * y - y_prev - h * h * s(y @ Kj.T + bj) @ Kj
        y_prev, y = y, new + probes[j + 1]
    return y


@pytest.mark.parametrize("arch", SCHEMES)
def test_state_and_parameter_gradients_equal_autograd(arch, float64):
    torch.manual_seed(0)
    block = stablenet.build_block(arch, 3, 7, 2.1, bias="feature")
    with torch.no_grad():
        block.b.normal_(0, 0.5)
    x = torch.randn(5, 3)
    result = gradient_norms(block, x)
    r = unit_direction(torch.Size([5, 3]), seed=0)
    # states: probes on a direct transcription
    K, b = (t.detach() for t in block.weights())
    probes = [torch.zeros(5, 3, requires_grad=True) for _ in range(8)]
    loss = (transcription(arch, K, b, block.h, x, probes) * r).sum()
    expected = torch.stack([g.norm() for g in torch.autograd.grad(loss, probes)])
    torch.testing.assert_close(result.states, expected)
    assert result.states[-1].item() == pytest.approx(1.0)  # dL/dY_N = r, |r| = 1
    # parameters: autograd through the block's own forward
    dK, db = torch.autograd.grad((block(x) * r).sum(), [block.K, block.b])
    torch.testing.assert_close(result.params, (dK.pow(2).sum((1, 2)) + db.pow(2).sum(1)).sqrt())
    assert result.ratio == pytest.approx(float(expected[0] / expected[-1]))


def test_grad_output_is_used(float64):
    block = stablenet.HamiltonianNet(3, 4, 1.0)
    g = torch.randn(2, 3)
    result = gradient_norms(block, torch.randn(2, 3), grad_output=g)
    assert result.states[-1].item() == pytest.approx(g.norm().item())


def test_classifier_with_labels_uses_cross_entropy(float64):
    torch.manual_seed(1)
    model = stablenet.build_model("leapfrog", (2,), 3, width=4, depth=6, T=3.0,
                                  opening="linear")
    x, labels = torch.randn(7, 2), torch.tensor([0, 1, 2, 0, 1, 2, 0])
    (result,) = gradient_norms(model, x, labels=labels)
    y0 = model.opening(x).detach().requires_grad_(True)
    yN = model.block(y0)
    loss = F.cross_entropy(model.classifier(yN), labels)
    d0, dN, dK, db = torch.autograd.grad(loss, [y0, yN, model.block.K, model.block.b])
    assert result.states[0].item() == pytest.approx(d0.norm().item(), rel=1e-10)
    assert result.states[-1].item() == pytest.approx(dN.norm().item(), rel=1e-10)
    torch.testing.assert_close(result.params, (dK.pow(2).sum((1, 2)) + db.pow(2)).sqrt())


def test_image_model_gives_one_result_per_block(float64):
    model = stablenet.build_model("resnet", (1, 6, 6), 2, width=[2, 3], depth=[3, 2], T=1.0)
    result = gradient_norms(model.eval(), torch.randn(2, 1, 6, 6), labels=torch.tensor([0, 1]))
    assert [r.states.shape for r in result] == [(4,), (3,)]
    assert [r.params.shape for r in result] == [(3,), (2,)]
    assert all(bool((r.states > 0).all()) for r in result)


def test_grad_output_on_a_model_is_refused():
    model = stablenet.build_model("resnet", (2,), 2, width=2, depth=2, T=1.0)
    with pytest.raises(ValueError, match="labels"):
        gradient_norms(model, torch.randn(2, 2), grad_output=torch.randn(2, 2))
