"""Every part of the library satisfies the protocol it is declared to (stablenet.interfaces),
and the image network's feature pipeline is the composition the protocol states."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import stablenet
from stablenet import interfaces as I
from stablenet.integrators import INTEGRATORS
from stablenet.layers import Antisymmetric, Conv, Dense, Free, Gradient, Hamiltonian, Plain
from stablenet.registry import ARCHITECTURES, build_block


@pytest.mark.parametrize("operator", [Dense(3), Conv(2)])
def test_operators_fields_and_parametrizations(operator):
    assert isinstance(operator, I.Operator)
    assert isinstance(Plain(operator), I.Field) and isinstance(Gradient(operator), I.Field)
    assert isinstance(Hamiltonian(operator), I.PartitionedField)
    assert isinstance(Free(), I.Parametrization)
    assert isinstance(Antisymmetric(0.1), I.Parametrization)


def test_integrators():
    for cls in INTEGRATORS.values():
        assert isinstance(cls(), I.Integrator)


@pytest.mark.parametrize("arch", ARCHITECTURES)
@pytest.mark.parametrize("conv", [False, True])
def test_blocks(arch, conv):
    assert isinstance(build_block(arch, 2, 3, 1.0, conv=conv), I.Block)


def test_models_and_a_stand_in_that_lacks_a_member():
    dense = stablenet.build_model("hamiltonian", (2,), 3, 4, 3, 1.0)
    image = stablenet.build_model("leapfrog", (1, 8, 8), 3, [2, 4], 2, 1.0)
    assert isinstance(dense, I.StableModel) and isinstance(image, I.StableModel)
    assert len(dense.connectors) == 0 and len(image.connectors) == 1
    assert not isinstance(torch.nn.Linear(2, 2), I.StableModel)
    assert not isinstance(Dense(3), I.Field)  # an operator is not a layer function


def test_image_features_are_the_declared_composition():
    torch.manual_seed(0)
    model = stablenet.build_model("hamiltonian", (1, 8, 8), 3, [2, 4, 6], [2, 1, 3], 1.0)
    model.eval()
    x = torch.randn(5, 1, 8, 8, dtype=torch.float32)
    y = model.opening(model.preprocess(x))
    for i, block in enumerate(model.blocks):
        y = block(y)
        if i < 2:
            y = F.avg_pool2d(model.connectors[i](y), 2)
    expected = y.mean(dim=(-2, -1))
    assert torch.equal(model.features(x), expected)
    assert torch.equal(model(x), model.classifier(expected))
