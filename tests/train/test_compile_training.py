"""``compile`` (``stablenet train --compile``): the steps run through ``torch.compile`` and
follow the eager run. ``aot_eager`` traces with dynamo and AOT autograd like inductor does
but needs no C compiler, so this stays fast; float64 makes the comparison tight."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch._dynamo.eval_frame import OptimizedModule

from stablenet.errors import ConfigError, ConfigTypeError
from stablenet.train import TrainConfig, train


def config(**kw) -> TrainConfig:
    base = dict(dataset="ellipses", depth=2, T=2.0, levels=2, epochs=2, limit_train=100,
                limit_val=40, optimizer="adam", batch_size=32, lr=0.05, seed=7,
                dtype="float64")
    return TrainConfig(**{**base, **kw})


@pytest.mark.parametrize("kw", [{}, {"optimizer": "lbfgs", "batch_size": 0, "lr": 1.0}],
                         ids=["adam", "lbfgs"])
def test_compiled_training_follows_eager(kw):
    used = set()

    def record(trainer, event):
        if event == "step":
            used.add(type(trainer.step_model()))

    eager = train(config(**kw))
    compiled = train(config(compile="aot_eager", **kw), callback=record)
    assert used == {OptimizedModule}
    ref, got = eager.model.state_dict(), compiled.model.state_dict()
    assert got.keys() == ref.keys()
    assert {r["depth"] for r in compiled.metrics["history"]} == {2, 4}  # both levels trained
    for key in ref:
        torch.testing.assert_close(got[key], ref[key], rtol=1e-10, atol=1e-12)
    for a, b in zip(eager.metrics["history"], compiled.metrics["history"], strict=True):
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-10)


def test_compiled_image_training_follows_eager(tmp_path):
    """An image network (convolutional blocks, batch norm in the opening layer)."""
    rng = np.random.default_rng(0)
    path = tmp_path / "images.npz"
    np.savez(path, x_train=rng.standard_normal((64, 1, 8, 8)), y_train=rng.integers(0, 3, 64),
             x_val=rng.standard_normal((16, 1, 8, 8)), y_val=rng.integers(0, 3, 16))
    kw = dict(dataset=str(path), channels=[2, 4], depth=2, levels=1, epochs=2, batch_size=16,
              limit_train=None, limit_val=None)
    eager = train(config(**kw)).model.state_dict()
    compiled = train(config(compile="aot_eager", **kw)).model.state_dict()
    assert any("running_mean" in key for key in eager)
    for key in eager:
        torch.testing.assert_close(compiled[key], eager[key], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kw, error, message", [
    ({"compile": "nonsense"}, ConfigError, "unknown torch.compile backend 'nonsense'"),
    ({"compile": True}, ConfigTypeError, "--compile takes a torch.compile backend name"),
    ({"compile": "inductor", "optimizer": "bcd"}, ConfigError, "does not apply to --optimizer bcd"),
])
def test_compile_option_errors(kw, error, message):
    with pytest.raises(error, match=message):
        train(config(**kw))
