"""A divergence caused by a regulariser or by huge inputs is named as such, with its own
fix (a smaller step h would make the smoothness term worse), by comparing each term of the
objective J = CE + R_theta + R_W and its gradient with the data term's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import stablenet
from stablenet.objective.regularizers import smoothness, weight_decay
from stablenet.train import DivergenceError, TrainConfig, train
from stablenet.train.divergence import diagnose, term_sizes


def config(**kw) -> TrainConfig:
    base = dict(dataset="ellipses", depth=4, levels=1, epochs=1, limit_train=40, limit_val=16)
    return TrainConfig(**{**base, **kw})


@pytest.mark.parametrize("kw", [dict(T=1e-9), dict(alpha=1e30), dict(alpha=1e12,
                                                                      optimizer="adam")])
def test_the_smoothness_regulariser_is_named(kw):
    with pytest.raises(DivergenceError) as info:
        train(config(**kw))
    msg = str(info.value)
    assert "the time-smoothness regulariser alpha/(2h)" in msg and "a smaller --alpha" in msg
    assert "a larger step h" in msg and "more depth at the same T" not in msg


def test_the_weight_decay_is_named():
    with pytest.raises(DivergenceError) as info:
        train(config(beta=1e30))
    msg = str(info.value)
    assert "the classifier weight decay beta/2 |W|^2 drives it" in msg
    assert "a smaller --beta" in msg and "smaller step" not in msg


def test_huge_inputs_are_named(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(60, 3)) * 1e30).astype(np.float32)
    y = (x[:, 0] > 0).astype(int)
    np.savez(tmp_path / "huge.npz", x_train=x[:40], y_train=y[:40], x_val=x[40:], y_val=y[40:])
    with pytest.raises(DivergenceError, match=r"the inputs are huge .*\(--standardize features\)"):
        train(TrainConfig(dataset=str(tmp_path / "huge.npz"), standardize="none", epochs=1))


def test_term_sizes_are_the_terms_of_the_objective():
    torch.manual_seed(0)
    model = stablenet.build_model("hamiltonian", (2,), 2, 4, 5, 1.0)
    x, y = torch.randn(8, 2), torch.tensor([0, 1] * 4)
    sizes = term_sizes(model, x, y, alpha=0.3, beta=0.2)
    ce = torch.nn.functional.cross_entropy(model(x), y).detach()
    assert sizes["data"][0] == pytest.approx(float(ce), rel=1e-6)
    assert sizes["smoothness"][0] == pytest.approx(float(smoothness(model.block, 0.3)), rel=1e-6)
    decay = weight_decay(model.classifier, 0.2)
    assert sizes["decay"][0] == pytest.approx(float(decay), rel=1e-6)
    # the decay's gradient is beta (W, mu): its norm is beta |(W, mu)|
    W = torch.cat([model.classifier.weight.flatten(), model.classifier.bias])
    assert sizes["decay"][1] == pytest.approx(0.2 * float(W.norm()), rel=1e-5)


def test_an_ordinary_blowup_still_names_the_layer():
    model = stablenet.build_model("resnet", (2,), 2, 2, 8, 1.0, activation="identity")
    with torch.no_grad():
        model.blocks[0].K.zero_()
        model.blocks[0].K[5] = 1e9 * torch.eye(2)
    err = diagnose(model, torch.ones(3, 2), "loss", float("inf"), "step 1",
                   torch.tensor([0, 1, 0]), alpha=1e-3, beta=1e-3)
    assert "layer 5 of block 0" in str(err) and "smaller step h" in str(err)
