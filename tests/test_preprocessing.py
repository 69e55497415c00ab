"""Input standardisation as the model's first stage: statistics of the training split only,
carried by state_dict / save / load / checkpoints, applied by every use of the model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import stablenet
from stablenet.errors import ConfigError
from stablenet.preprocessing import Standardize, check_data_info, class_names
from stablenet.train import TrainConfig, TrainingInterrupted, resolve, train
from stablenet.train.setup import load_data


def test_standardize_is_the_affine_map_of_the_fitted_statistics():
    x = torch.tensor([[1.0, 5.0, 1e3], [3.0, 5.0, 3e3], [8.0, 5.0, 2e3]])
    s = Standardize(3)
    assert torch.equal(s(x), x)  # identity before fit
    constant = s.fit(x)
    x64 = x.double()
    mu, sd = x64.mean(0), x64.std(0, correction=0)
    assert constant == [1]  # the middle feature is constant: std taken as 1
    assert torch.allclose(s.mean.double(), mu) and s.std[1] == 1
    assert torch.allclose(s.std[[0, 2]].double(), sd[[0, 2]])
    y = s(x)
    assert torch.allclose(y[:, [0, 2]].mean(0), torch.zeros(2), atol=1e-6)
    assert torch.allclose(y[:, [0, 2]].std(0, correction=0), torch.ones(2), atol=1e-6)
    assert torch.equal(y[:, 1], torch.zeros(3))
    with pytest.raises(ConfigError, match=r"\[N >= 1, 3\]"):
        s.fit(torch.zeros(0, 3))


def test_constant_at_float32_resolution_counts_as_constant():
    """0.1 in float32 repeated: its float64 std is ~1e-17 relative, not a scale to divide by."""
    x = torch.stack([torch.full((500,), 0.1), torch.linspace(-1e-9, 1e-9, 500)], 1)
    s = Standardize(2)
    assert s.fit(x) == [0]  # the tiny but varying second feature is standardised
    assert torch.allclose(s(x)[:, 1].std(correction=0), torch.tensor(1.0), atol=1e-5)


def table(tmp_path, n=60):
    """Two features on scales 1 and 1000, label = first feature > 0; ids in a third column."""
    rng = np.random.default_rng(0)
    p = tmp_path / "t.csv"
    a, b = rng.normal(size=n), rng.normal(1000, 300, size=n)
    p.write_text("a,b,label\n" + "".join(f"{a[i]:.5f},{b[i]:.3f},{int(a[i] > 0)}\n"
                                          for i in range(n)))
    return p


def small(tmp_path, **kw):
    return TrainConfig(dataset=str(table(tmp_path)), depth=2, T=1.0, epochs=2, seed=0, **kw)


def test_statistics_come_from_the_training_split_and_survive_save_load(tmp_path):
    config = small(tmp_path)
    result = train(config, tmp_path / "run")
    split = load_data(config)
    pre = result.model.preprocess
    assert isinstance(pre, Standardize) and result.model.config["standardize"] == "features"
    x64 = split.x_train.double()
    assert torch.allclose(pre.mean.double(), x64.mean(0), rtol=1e-6)
    assert torch.allclose(pre.std.double(), x64.std(0, correction=0), rtol=1e-6)
    both = torch.cat([split.x_train, split.x_val]).double()
    assert not torch.allclose(pre.mean.double(), both.mean(0), rtol=1e-6)  # val not used
    loaded = stablenet.load(tmp_path / "run" / "model.pt")
    assert torch.equal(loaded.preprocess.mean, pre.mean) and torch.equal(loaded.preprocess.std,
                                                                         pre.std)
    with torch.no_grad():
        assert torch.equal(loaded(split.x_val), result.model.eval()(split.x_val))
    ckpt = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert torch.equal(ckpt["model"]["preprocess.mean"], pre.mean)
    from stablenet.analysis.network import analysis_copy, block_inputs  # as analyze sees it

    y0 = block_inputs(analysis_copy(loaded), split.x_val)[0]
    pad = y0.shape[1] - split.x_val.shape[1]  # zero-padded to the network's width
    expect = torch.nn.functional.pad((split.x_val.double() - pre.mean.double())
                                     / pre.std.double(), (0, pad))
    assert torch.allclose(y0, expect, rtol=1e-6, atol=1e-6)


def test_resume_keeps_the_statistics(tmp_path):
    def stop(trainer, event):
        if event == "step":
            trainer.stop.request()

    config = small(tmp_path, batch_size=16)
    full = train(config, tmp_path / "full").model
    with pytest.raises(TrainingInterrupted):
        train(config, tmp_path / "part", callback=stop)
    part = train(None, tmp_path / "part", resume=True).model
    for k, v in full.state_dict().items():
        assert torch.equal(v, part.state_dict()[k]), k


def test_defaults_and_choices():
    assert resolve(TrainConfig(dataset="swissroll"), False, 2).standardize == "none"
    assert resolve(TrainConfig(dataset="my.npz"), False, 5).standardize == "features"
    assert resolve(TrainConfig(dataset="my.csv"), False, 5).standardize == "features"
    assert resolve(TrainConfig(dataset="mnist"), True, 1).standardize == "none"
    assert resolve(TrainConfig(dataset="x.npz", standardize="none"), False, 5).standardize == "none"
    with pytest.raises(ConfigError, match="applies to feature vectors"):
        resolve(TrainConfig(dataset="imgs.npz", standardize="features"), True, 3)
    with pytest.raises(ConfigError, match="--standardize"):
        resolve(TrainConfig(dataset="x.npz", standardize="z-score"), False, 5)


def test_models_without_standardisation_and_old_files(tmp_path):
    model = stablenet.build_model("hamiltonian", (3,), 2, width=4, depth=2, T=1.0)
    assert isinstance(model.preprocess, torch.nn.Identity)
    assert not any(k.startswith("preprocess") for k in model.state_dict())
    old = dict(model.config)
    del old["standardize"], old["data_info"]  # a model file written before this change
    torch.save({"state_dict": model.state_dict(), "config": old}, tmp_path / "old.pt")
    assert isinstance(stablenet.load(tmp_path / "old.pt").preprocess, torch.nn.Identity)
    assert class_names(model) == [0, 1]
    with pytest.raises(ConfigError, match="images keep their own"):
        stablenet.build_model("hamiltonian", (1, 8, 8), 2, width=4, depth=1, T=1.0,
                              standardize="features")


@pytest.mark.parametrize("info, words", [
    ({"classes": ["a"]}, "2 distinct"),
    ({"classes": ["a", "a"]}, "2 distinct"),
    ({"classes": [True, 1]}, "2 distinct"),
    ({"feature_names": ["a"]}, r"\[3\] strings"),
    ({"input_scaling": "x/2"}, "input_scaling"),
    ({"colour": 1}, "keys among"),
])
def test_data_info_is_checked(info, words):
    with pytest.raises(ConfigError, match=words):
        check_data_info(info, 2, (3,))
