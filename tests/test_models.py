"""Models around the blocks and the registry: build by name, save / load, errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import stablenet
from stablenet import (
    ARCHITECTURES,
    CheckpointError,
    ConfigError,
    PadOpening,
    StableClassifier,
    StableImageNet,
    build_block,
    build_model,
    load,
    save,
)
from stablenet.schemes import CONV_BLOCKS, DENSE_BLOCKS


def test_architectures_are_the_five_schemes():
    assert set(ARCHITECTURES) == {"resnet", "antisymmetric", "hamiltonian", "leapfrog",
                                  "parabolic"}
    for arch in ARCHITECTURES:
        assert type(build_block(arch, 3, 2, 1.0)) is DENSE_BLOCKS[arch]
        assert type(build_block(arch, 3, 2, 1.0, conv=True)) is CONV_BLOCKS[arch]


def test_build_block_passes_keyword_arguments():
    block = build_block("antisymmetric", 3, 2, 1.0, gamma=0.5, bias="feature")
    assert block.parametrization.gamma == 0.5 and block.b.shape == (2, 3)


def test_pad_opening_zero_pads():
    x = torch.tensor([[1.0, 2.0]])
    assert torch.equal(PadOpening(2, 4)(x), torch.tensor([[1.0, 2.0, 0.0, 0.0]]))
    assert list(PadOpening(2, 4).parameters()) == []
    with pytest.raises(ConfigError, match="width 1 is smaller than the 2 input features"):
        PadOpening(2, 1)


@pytest.mark.parametrize("opening", ["pad", "linear"])
def test_dense_classifier_is_opening_block_linear(float64, opening):
    model = build_model("hamiltonian", (2,), 3, width=4, depth=5, T=1.0, opening=opening)
    assert isinstance(model, StableClassifier) and len(model.blocks) == 1
    x = torch.randn(6, 2, generator=torch.Generator().manual_seed(0))
    opened = F.pad(x, (0, 2)) if opening == "pad" else model.opening(x)
    y_N = model.block(opened)
    torch.testing.assert_close(model.features(x), y_N)
    torch.testing.assert_close(model(x), y_N @ model.classifier.weight.T + model.classifier.bias)
    assert model(x).shape == (6, 3)


def test_image_network_structure_and_shapes():
    torch.manual_seed(0)
    model = build_model("leapfrog", (1, 8, 8), 10, width=[4, 8], depth=[2, 3], T=1.0)
    assert isinstance(model, StableImageNet)
    assert [b.width for b in model.blocks] == [4, 8] and [b.depth for b in model.blocks] == [2, 3]
    assert len(model.connectors) == 1 and model.connectors[0].kernel_size == (1, 1)
    x = torch.randn(5, 1, 8, 8)
    assert model(x).shape == (5, 10) and model.features(x).shape == (5, 8)


def test_image_network_features_follow_the_stages(float64):
    torch.manual_seed(1)
    model = build_model("resnet", (2, 8, 8), 3, width=[3, 5], depth=2, T=1.0).eval()
    x = torch.randn(2, 2, 8, 8)
    y = model.blocks[0](model.opening(x))
    y = F.avg_pool2d(model.connectors[0](y), 2)
    y = model.blocks[1](y).mean(dim=(2, 3))
    torch.testing.assert_close(model.features(x), y)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_save_load_round_trip_dense(tmp_path, arch):
    torch.manual_seed(2)
    model = build_model(arch, (2,), 2, width=4, depth=3, T=2.0, bias="feature", gamma=0.01,
                        opening="linear")
    path = tmp_path / "model.pt"
    save(model, path)
    loaded = load(path)
    assert type(loaded.block) is type(model.block) and loaded.config == model.config
    x = torch.randn(7, 2)
    assert torch.equal(loaded(x), model(x))


def test_save_load_round_trip_image(tmp_path):
    torch.manual_seed(3)
    model = build_model("hamiltonian", (1, 8, 8), 4, width=[2, 4], depth=2, T=1.0,
                        activation="relu").eval()
    with torch.no_grad():
        model.opening[1].running_mean.uniform_()  # nontrivial buffers must survive too
    save(model, tmp_path / "m.pt")
    loaded = load(tmp_path / "m.pt").eval()
    x = torch.randn(3, 1, 8, 8)
    assert torch.equal(loaded(x), model(x))


def test_registry_errors():
    with pytest.raises(ConfigError, match="unknown architecture 'resnt'.*resnet"):
        build_block("resnt", 3, 2, 1.0)
    with pytest.raises(ConfigError, match="unknown architecture"):
        build_model("midpoint", (2,), 2, width=4, depth=2, T=1.0)
    with pytest.raises(ConfigError, match="input_shape"):
        build_model("resnet", (4, 4), 2, width=4, depth=2, T=1.0)
    with pytest.raises(ConfigError, match="integer width"):
        build_model("resnet", (2,), 2, width=[4, 8], depth=2, T=1.0)
    with pytest.raises(ConfigError, match="depths"):
        build_model("resnet", (1, 8, 8), 2, width=[4, 8], depth=[2, 2, 2], T=1.0)
    with pytest.raises(ConfigError, match="opening"):
        build_model("resnet", (2,), 2, width=4, depth=2, T=1.0, opening="conv")
    with pytest.raises(ConfigError, match="smaller than"):
        build_model("resnet", (5,), 2, width=4, depth=2, T=1.0)
    with pytest.raises(ConfigError, match="num_classes"):
        build_model("resnet", (2,), 0, width=4, depth=2, T=1.0)


def test_load_errors(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load(tmp_path / "missing.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read"):
        load(garbage)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(CheckpointError, match="not a stablenet model"):
        load(foreign)
    mismatched = tmp_path / "mismatched.pt"
    model = build_model("resnet", (2,), 2, width=4, depth=3, T=1.0)
    config = dict(model.config, depth=4)
    torch.save({"state_dict": model.state_dict(), "config": config}, mismatched)
    with pytest.raises(CheckpointError, match="does not match"):
        load(mismatched)


def test_public_names_exist():
    for name in ["ResNet", "AntisymmetricResNet", "HamiltonianNet", "LeapfrogNet",
                 "ParabolicResNet", "ConvResNet", "ConvAntisymmetricResNet",
                 "ConvHamiltonianNet", "ConvLeapfrogNet", "ConvParabolicResNet"]:
        assert issubclass(getattr(stablenet, name), stablenet.StableBlock)


def test_load_keeps_the_saved_precision(tmp_path):
    model = stablenet.build_model("hamiltonian", (2,), 2, 4, 3, 1.0).double()
    stablenet.save(model, tmp_path / "m.pt")
    loaded = stablenet.load(tmp_path / "m.pt")
    assert loaded.block.K.dtype == torch.float64
    x = torch.randn(5, 2, dtype=torch.float64)
    assert torch.equal(loaded(x), model(x))


@pytest.mark.parametrize("shape", [(5, 3), (5, 2, 1), (3,)])
def test_a_feature_model_names_the_inputs_it_takes(shape):
    """Not the padded width of the block (4) but the model's own 2 features."""
    model = stablenet.build_model("hamiltonian", (2,), 3, 4, 3, 1.0)
    with pytest.raises(ConfigError, match=r"inputs \[batch, 2\] \(2 features\), got shape"):
        model(torch.randn(shape))
    assert model(torch.randn(2)).shape == (3,) and model(torch.randn(5, 2)).shape == (5, 3)


def test_an_image_model_names_the_images_it_takes():
    model = stablenet.build_model("hamiltonian", (1, 8, 8), 10, [4, 8], [2, 2], 1.0)
    with pytest.raises(ConfigError, match=r"images \[batch, 1, height, width\]"):
        model(torch.randn(2, 3, 8, 8))
    with pytest.raises(ConfigError, match=r"1 x 1 pixels are too small for 2 stages"):
        model(torch.randn(2, 1, 1, 1))
    assert model(torch.randn(2, 1, 2, 2)).shape == (2, 10)  # 2 x 2 -> 1 x 1: enough


def test_too_many_stages_for_the_images_is_refused_when_built():
    with pytest.raises(ConfigError, match=r"4 x 4 pixels are too small for 4 stages.*8 x 8"):
        stablenet.build_model("leapfrog", (1, 4, 4), 10, [2, 2, 2, 2], 1, 1.0)
    stablenet.build_model("leapfrog", (1, 8, 8), 10, [2, 2, 2, 2], 1, 1.0)  # 8 -> 4 -> 2 -> 1
