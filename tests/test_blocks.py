"""StableBlock as an nn.Module: gradients, dtypes, state_dict, init, resizing, errors."""

from __future__ import annotations

import re

import pytest
import torch
from torch.func import functional_call

import stablenet
from stablenet import StableBlock
from stablenet.errors import ConfigError, ConfigTypeError
from stablenet.integrators import ForwardEuler
from stablenet.layers import Dense, Plain
from stablenet.schemes import CONV_BLOCKS, DENSE_BLOCKS

SCHEMES = list(DENSE_BLOCKS)


def make(scheme, conv, bias="feature", depth=3, seed=0):
    """A small block with random K and nonzero b, and a matching input."""
    gen = torch.Generator().manual_seed(seed)
    block = (CONV_BLOCKS if conv else DENSE_BLOCKS)[scheme](2 if conv else 3, depth, 1.0,
                                                            bias=bias)
    with torch.no_grad():
        block.b.copy_(0.5 * torch.randn(block.b.shape, generator=gen))
    shape = (2, 2, 3, 3) if conv else (4, 3)
    return block, torch.randn(shape, generator=gen)


@pytest.mark.parametrize("conv", [False, True], ids=["dense", "conv"])
@pytest.mark.parametrize("scheme", SCHEMES)
def test_gradcheck_input_and_parameters(float64, scheme, conv):
    block, x = make(scheme, conv, depth=2 if conv else 3)
    names = [name for name, _ in block.named_parameters()]
    assert names == ["K", "b"]

    def f(x, K, b):
        return functional_call(block, {"K": K, "b": b}, (x,))

    inputs = (x.requires_grad_(), block.K.detach().requires_grad_(),
              block.b.detach().requires_grad_())
    assert torch.autograd.gradcheck(f, inputs)


@pytest.mark.parametrize("conv", [False, True], ids=["dense", "conv"])
@pytest.mark.parametrize("bias", ["scalar", "feature"])
@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_layer_gets_a_nonzero_gradient(scheme, conv, bias):
    block, x = make(scheme, conv, bias=bias, depth=4, seed=1)
    (block(x) ** 2).sum().backward()
    for name, p in block.named_parameters():
        assert p.grad is not None, name
        per_layer = p.grad.reshape(block.depth, -1).abs().amax(dim=1)
        assert (per_layer > 0).all(), (name, per_layer)
    if scheme == "antisymmetric":  # only the antisymmetric part of K matters
        G = block.K.grad
        transpose = block.operator.transpose
        torch.testing.assert_close(G, -transpose(G))


@pytest.mark.parametrize("conv", [False, True], ids=["dense", "conv"])
@pytest.mark.parametrize("scheme", SCHEMES)
def test_float32_and_float64_agree(scheme, conv):
    block, x = make(scheme, conv, seed=2)
    out32 = block(x)
    assert out32.dtype == torch.float32 and block.K.dtype == torch.float32
    block64 = block.double()
    out64 = block64(x.double())
    assert out64.dtype == torch.float64
    torch.testing.assert_close(out32.double(), out64, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("conv", [False, True], ids=["dense", "conv"])
@pytest.mark.parametrize("scheme", SCHEMES)
def test_state_dict_round_trip(scheme, conv):
    block, x = make(scheme, conv, seed=3)
    torch.manual_seed(123)
    fresh = type(block)(block.width, block.depth, block.T, bias="feature")
    assert not torch.equal(fresh(x), block(x))
    fresh.load_state_dict(block.state_dict())
    assert torch.equal(fresh(x), block(x))


def test_default_init_statistics():
    torch.manual_seed(0)
    block = stablenet.ResNet(64, 16, 1.0)
    assert torch.equal(block.b, torch.zeros(16))
    assert block.K.std().item() == pytest.approx(1 / 8, rel=0.05)  # N(0, 1 / fan_in)
    conv = stablenet.ConvResNet(8, 16, 1.0)
    assert conv.K.std().item() == pytest.approx((8 * 9) ** -0.5, rel=0.05)


def test_init_callable_and_tensor():
    block = stablenet.ResNet(3, 4, 1.0, init=torch.nn.init.zeros_)
    assert torch.equal(block.K, torch.zeros(4, 3, 3))
    K = torch.arange(36.0).reshape(4, 3, 3)
    assert torch.equal(stablenet.ResNet(3, 4, 1.0, init=K).K, K)
    with pytest.raises(ConfigError, match="shape"):
        stablenet.ResNet(3, 4, 1.0, init=torch.zeros(3, 3, 3))
    with pytest.raises(ConfigTypeError, match="init"):
        stablenet.ResNet(3, 4, 1.0, init=3)


def test_resized_keeps_T_and_changes_h():
    block = stablenet.ConvHamiltonianNet(2, 4, 2.0, bias="feature")
    new = block.resized(16)
    assert (new.depth, new.T, new.h) == (16, 2.0, 0.125)
    assert new.K.shape == (16, 2, 2, 3, 3) and new.b.shape == (16, 2)
    assert block.depth == 4 and block.K.shape[0] == 4  # the original is untouched
    assert new(torch.zeros(1, 2, 4, 4)).shape == (1, 2, 4, 4)


def test_custom_combination_is_a_choice_of_arguments(float64):
    """Plain field x forward Euler by hand is the ResNet."""
    ref = stablenet.ResNet(3, 5, 1.0, bias="feature")
    custom = StableBlock(Plain(Dense(3)), ForwardEuler(), 5, 1.0, bias="feature")
    custom.load_state_dict(ref.state_dict())
    x = torch.randn(2, 3)
    assert torch.equal(custom(x), ref(x))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(depth=0), ConfigError, "depth"),
    (dict(depth=-3), ConfigError, "depth"),
    (dict(depth=2.0), ConfigTypeError, "depth"),
    (dict(depth=True), ConfigTypeError, "depth"),
    (dict(width=0), ConfigError, "width|channels"),
    (dict(width="4"), ConfigTypeError, "width|channels"),
    (dict(T=0.0), ConfigError, "T"),
    (dict(T=-1.0), ConfigError, "T"),
    (dict(T=float("inf")), ConfigError, "T"),
    (dict(T="1"), ConfigTypeError, "T"),
    (dict(activation="sigmoid"), ConfigError, "tanh"),
    (dict(activation=3), ConfigTypeError, "activation"),
    (dict(bias="vector"), ConfigError, "scalar"),
])
@pytest.mark.parametrize("block_type", [stablenet.ResNet, stablenet.ConvLeapfrogNet])
def test_bad_arguments_raise_with_a_useful_message(block_type, kwargs, error, match):
    args = dict(width=2, depth=3, T=1.0) | kwargs
    with pytest.raises(error, match=match):
        block_type(**args)


def test_wrong_input_shape_raises():
    with pytest.raises(ConfigError, match="expects input"):
        stablenet.ResNet(3, 2, 1.0)(torch.zeros(4, 2))
    with pytest.raises(ConfigError, match="expects input"):
        stablenet.ConvResNet(3, 2, 1.0)(torch.zeros(4, 3))


def test_inverse_of_y_alone_says_what_it_needs():
    """Verlet's z_N and leapfrog's y_{N-1} are not determined by y_N: the message says so
    and shows how to get the full state; with it, inverse returns the initial state."""
    torch.manual_seed(0)
    for block, names in ((stablenet.HamiltonianNet(3, 4, 1.0), "(z, y)"),
                         (stablenet.LeapfrogNet(3, 4, 1.0), "(y_prev, y)")):
        x = torch.randn(5, 3, dtype=torch.float64)
        block = block.double()
        y, state = block(x, return_state=True)
        with pytest.raises(ConfigTypeError, match=rf"full final state {re.escape(names)}, got a "
                           r"tensor of shape \(5, 3\).*block\(x, return_state=True\)"):
            block.inverse(y)
        assert torch.allclose(block.inverse(state)[1], x, atol=1e-12)
    with pytest.raises(ConfigTypeError, match="euler steps are not invertible"):
        stablenet.ResNet(3, 4, 1.0).inverse(state)
