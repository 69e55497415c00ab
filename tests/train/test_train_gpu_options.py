"""The GPU speed options (``stablenet.train.gpu``) on CPU: bf16 autocast trains and stays
within bf16 rounding of float32, reversible mode keeps a float32 reconstruction under it,
channels-last changes no value, and CUDA graphs are refused off a GPU (and compiled with
mode reduce-overhead where they apply)."""

from __future__ import annotations

import math
import types
import warnings

import numpy as np
import pytest
import torch

from stablenet import build_model
from stablenet.errors import ConfigError, ConfigTypeError
from stablenet.memory import Reversible
from stablenet.train import TrainConfig, TrainingInterrupted, check, train
from stablenet.train.distributed import check_config
from stablenet.train.gpu import compiled_step_model

#: one bf16 unit (2^-8): the first-step loss under autocast is within this relative gap of
#: float32's. Measured (default / avx2 / AVX-512 kernels alike): 1.6e-5 to 2.2e-4, so the
#: margin is 18x; a zero gap would mean autocast did nothing.
BF16_REL = 2.0**-8
#: the reversible drift under autocast: a float32 reconstruction measured 7e-8 to 1.1e-7
#: on all three kernel sets; rebuilding in bf16 (the input's dtype) drifted 2e-3.
FLOAT32_DRIFT = 1e-5


@pytest.fixture
def images(tmp_path):
    """A tiny .npz of random 8x8 one-channel images in 3 classes."""
    rng = np.random.default_rng(0)
    path = tmp_path / "images.npz"
    np.savez(path, x_train=rng.standard_normal((64, 1, 8, 8)), y_train=rng.integers(0, 3, 64),
             x_val=rng.standard_normal((16, 1, 8, 8)), y_val=rng.integers(0, 3, 16))
    return str(path)


def config(**kw) -> TrainConfig:
    base = dict(dataset="ellipses", arch="hamiltonian", depth=8, T=2.0, levels=1, epochs=4,
                limit_train=200, limit_val=50, optimizer="adam", batch_size=50, lr=0.05, seed=3)
    return TrainConfig(**{**base, **kw})


def run(cfg: TrainConfig):
    """(first-step loss, every step's drift, train losses per epoch, drift warnings)."""
    seen: dict = {"first": None, "drift": []}

    def record(trainer, event):
        if event == "step":
            if seen["first"] is None:
                seen["first"] = trainer.sums[0] / trainer.sums[2]
            seen["drift"].append(trainer.model.blocks[0].last_drift)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = train(cfg, callback=record)
    losses = [r["train_loss"] for r in result.metrics["history"] if r["epoch"] > 0]
    drifted = [w for w in caught if "drift" in str(w.message)]
    return seen["first"], seen["drift"], losses, drifted, result


@pytest.mark.parametrize("kw", [
    {},  # store mode, dense (the pad opening keeps the block's input float32)
    {"memory": "reversible", "opening": "linear"},  # the block's input is bf16 here
    {"memory": "reversible", "channels": [2, 4], "depth": 4, "batch_size": 16,
     "limit_train": None, "limit_val": None},  # images: conv opening, bf16 input
], ids=["store-dense", "reversible-dense", "reversible-images"])
def test_bf16_autocast_trains_within_bf16_rounding_of_float32(kw, images):
    if "channels" in kw:
        kw = {**kw, "dataset": images}
    first32, _, _, _, _ = run(config(**kw))
    first16, drifts, losses, drifted, result = run(config(autocast="bf16", **kw))
    assert all(math.isfinite(v) for v in losses) and losses[-1] < losses[0], losses
    assert 0 < abs(first16 - first32) <= BF16_REL * first32, (first16, first32)
    assert all(math.isfinite(r["val_loss"]) for r in result.metrics["history"])
    if kw.get("memory") == "reversible":  # rebuilt in float32: no float64 redo, no warning
        assert not drifted and max(drifts) < FLOAT32_DRIFT, max(drifts)
    else:
        assert all(math.isnan(d) for d in drifts)


def test_reversible_block_under_autocast_rebuilds_in_the_weights_dtype():
    """A bf16 input (what autocast hands a block after a linear or conv opening): the
    reversible backward runs in float32 and gives the gradient of the float32 loop on the
    same (rounded) input, to float32 rounding."""
    model = build_model(arch="hamiltonian", input_shape=(3,), num_classes=2, width=6,
                        depth=16, T=2.0, memory=Reversible())
    block = model.blocks[0]
    x16 = torch.randn(5, 6, generator=torch.Generator().manual_seed(0)).bfloat16()
    x16.requires_grad_()
    block(x16).pow(2).sum().backward()
    assert block.last_drift < FLOAT32_DRIFT and x16.grad.dtype == torch.bfloat16
    got = (x16.grad.float(), block.K.grad.clone())
    block.K.grad = None
    x32 = x16.detach().float().requires_grad_()
    with block.using_memory("store"):
        block(x32).pow(2).sum().backward()
    torch.testing.assert_close(got[1], block.K.grad, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(got[0], x32.grad, rtol=2**-8, atol=1e-6)  # bf16 rounding


def test_channels_last_gives_the_same_losses(images):
    """float64, a conv network with batch norm: the same losses and weights to 1e-10, and
    the data and convolution weights really are channels-last during the run."""
    formats = set()

    def record(trainer, event):
        if event == "step":
            cl = torch.channels_last
            formats.add((trainer.data.x_train.is_contiguous(memory_format=cl),
                         trainer.model.opening[0].weight.is_contiguous(memory_format=cl)))

    kw = dict(dataset=images, channels=[2, 4], depth=2, epochs=2, batch_size=16, dtype="float64",
              limit_train=None, limit_val=None)
    plain = train(config(**kw))
    fast = train(config(channels_last=True, **kw), callback=record)
    assert formats == {(True, True)}
    for a, b in zip(plain.metrics["history"], fast.metrics["history"], strict=True):
        assert b["val_loss"] == pytest.approx(a["val_loss"], rel=1e-10, abs=1e-12)
        if a["train_loss"] is not None:
            assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-10, abs=1e-12)
    ref = plain.model.state_dict()
    for key, value in fast.model.state_dict().items():
        torch.testing.assert_close(value, ref[key], rtol=1e-10, atol=1e-12)


def test_resume_with_autocast_and_channels_last_gives_the_uninterrupted_weights(tmp_path,
                                                                              images):
    """Stopped mid-run and resumed (the model rebuilt in channels-last, the steps again
    under autocast), the run ends with exactly the weights of the uninterrupted one."""
    kw = dict(dataset=images, channels=[2, 4], depth=2, epochs=2, batch_size=16,
              autocast="bf16", channels_last=True, limit_train=None, limit_val=None)

    def stop_at_step_6(trainer, event):
        if event == "step" and trainer.step_k == 6:
            trainer.stop.request()

    train(config(**kw), tmp_path / "full")
    with pytest.raises(TrainingInterrupted):
        train(config(**kw), tmp_path / "part", callback=stop_at_step_6)
    train(None, tmp_path / "part", resume=True)
    a = torch.load(tmp_path / "full" / "model.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "part" / "model.pt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("kw, error, message", [
    ({"cuda_graphs": True}, ConfigError, "needs a GPU: add --device cuda"),
    ({"cuda_graphs": True, "device": "cuda", "compile": "aot_eager"}, ConfigError,
     "--compile aot_eager names another backend"),
    ({"cuda_graphs": True, "device": "cuda", "optimizer": "bcd"}, ConfigError,
     "--cuda-graphs does not apply to --optimizer bcd"),
    ({"cuda_graphs": "yes"}, ConfigTypeError, "--cuda-graphs is true or false"),
    ({"channels_last": 1}, ConfigTypeError, "--channels-last is true or false"),
    ({"autocast": "fp8"}, ConfigError, "unknown autocast dtype 'fp8' for --autocast"),
    ({"autocast": "bf16", "dtype": "float64"}, ConfigError, "use --dtype float32 with"),
    ({"autocast": "bf16", "optimizer": "bcd"}, ConfigError, "--autocast does not apply to"),
])
def test_speed_option_errors(kw, error, message):
    with pytest.raises(error, match=message):
        check(config(**kw))


def test_cuda_graphs_with_inductor_passes_the_check():
    for compile_ in (None, "inductor"):
        check(config(cuda_graphs=True, device="cuda", compile=compile_))


def test_channels_last_refused_for_feature_data():
    with pytest.raises(ConfigError, match="--channels-last is a memory format of images"):
        train(config(channels_last=True))


def test_cuda_graphs_refused_under_torchrun():
    cfg = config(cuda_graphs=True, device="cuda", batch_size=0)
    with pytest.raises(ConfigError, match="--cuda-graphs is not supported under torchrun"):
        check_config(cfg, 200, 2)


def test_cuda_graphs_compile_the_step_in_mode_reduce_overhead(monkeypatch):
    calls = []
    monkeypatch.setattr(torch, "compile", lambda model, **kw: calls.append(kw) or model)
    model = torch.nn.Linear(2, 2)
    for opts in ({"cuda_graphs": True, "compile": None}, {"cuda_graphs": True,
                                                          "compile": "inductor"}):
        assert compiled_step_model(model, types.SimpleNamespace(**opts)) is model
    assert calls == [dict(backend="inductor", mode="reduce-overhead", dynamic=False)] * 2
    assert compiled_step_model(model, types.SimpleNamespace(cuda_graphs=False,
                                                            compile=None)) is model


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_speed_options_follow_the_plain_run(images):
    """On a GPU: all three options together stay within bf16 rounding of the plain run."""
    kw = dict(dataset=images, channels=[4, 8], depth=4, batch_size=16, device="cuda",
              limit_train=None, limit_val=None)
    first, *_ = run(config(**kw))
    fast, _, losses, _, _ = run(config(cuda_graphs=True, autocast="bf16", channels_last=True,
                                       **kw))
    assert all(math.isfinite(v) for v in losses)
    assert abs(fast - first) <= BF16_REL * first, (fast, first)
