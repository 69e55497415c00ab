"""The ten named blocks against direct transcriptions of docs/theory.md 3.

The references below are written independently of the library, with plain torch ops:
dense layers in the paper's column form (K_j @ y for each example y, a column vector),
convolutional layers with F.conv2d (K) and F.conv_transpose2d (K^T, its adjoint).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import stablenet
from stablenet.schemes import CONV_BLOCKS, DENSE_BLOCKS

SCHEMES = ["resnet", "antisymmetric", "hamiltonian", "leapfrog", "parabolic"]
N, T, GAMMA = 5, 1.3, 0.25
SIGMA = torch.tanh


# --- the references, one update rule per scheme ------------------------------------------


def dense_ops(K, b):
    """K y + b, K^T y + b, K^T y, 1/2 (K - K^T - gamma I) y + b for one column y."""
    n = K.shape[0]
    col_b = b.reshape(-1, 1)  # scalar -> [1, 1] (broadcast), feature -> [n, 1]
    return {
        "Ky+b": lambda y: K @ y + col_b,
        "KTy+b": lambda y: K.T @ y + col_b,
        "KT": lambda y: K.T @ y,
        "A y+b": lambda y: 0.5 * (K - K.T - GAMMA * torch.eye(n)) @ y + col_b,
    }


def conv_ops(K, b):
    """The same four maps for a batch of images, K a 3x3 convolution C -> C, zero padding 1."""
    img_b = b.reshape(1, -1, 1, 1)

    def conv(y):
        return F.conv2d(y, K, padding=1)

    def conv_t(y):
        return F.conv_transpose2d(y, K, padding=1)

    return {
        "Ky+b": lambda y: conv(y) + img_b,
        "KTy+b": lambda y: conv_t(y) + img_b,
        "KT": conv_t,
        "A y+b": lambda y: 0.5 * (conv(y) - conv_t(y)) - 0.5 * GAMMA * y + img_b,
    }


def reference(scheme, K, b, y0, ops):
    """Trajectory [y_0 .. y_N] and the final auxiliary state (z_N or y_{N-1})."""
    h = T / K.shape[0]
    y, aux, traj = y0, torch.zeros_like(y0) if scheme == "hamiltonian" else y0, [y0]
    for j in range(K.shape[0]):
        op = ops(K[j], b[j])
        if scheme == "resnet":
            y = y + h * SIGMA(op["Ky+b"](y))
        elif scheme == "antisymmetric":
            y = y + h * SIGMA(op["A y+b"](y))
        elif scheme == "parabolic":
            y = y - h * op["KT"](SIGMA(op["Ky+b"](y)))
        elif scheme == "hamiltonian":  # aux = z, z_0 = 0
            aux = aux - h * SIGMA(op["KTy+b"](y))
            y = y + h * SIGMA(op["Ky+b"](aux))
        elif scheme == "leapfrog":  # aux = y_{j-1}, y_{-1} = y_0
            aux, y = y, 2 * y - aux - h**2 * op["KT"](SIGMA(op["Ky+b"](y)))
        traj.append(y)
    return torch.stack(traj), aux


def dense_reference(scheme, K, b, x):
    """Column form, one example at a time; rows of the result are the examples."""
    per_example = [reference(scheme, K, b, xi.reshape(-1, 1), dense_ops) for xi in x]
    traj = torch.stack([t[..., 0] for t, _ in per_example], dim=1)  # [N+1, B, n]
    aux = torch.stack([a[:, 0] for _, a in per_example])
    return traj, aux


# --- helpers -------------------------------------------------------------------------------


def seed_of(scheme, bias):
    return 2 * SCHEMES.index(scheme) + (bias == "feature")


def random_block(cls, width, bias, gen):
    block = cls(width, N, T, bias=bias, **({"gamma": GAMMA} if "Antisym" in cls.__name__ else {}))
    with torch.no_grad():
        block.K.copy_(torch.randn(block.K.shape, generator=gen))
        block.b.copy_(torch.randn(block.b.shape, generator=gen))
    return block


def check_against(block, scheme, x, ref_traj, ref_aux):
    traj = block(x, return_trajectory=True)
    assert traj.shape == (N + 1, *x.shape)
    torch.testing.assert_close(traj, ref_traj, rtol=0, atol=1e-12)
    y_N = block(x)
    torch.testing.assert_close(y_N, ref_traj[-1], rtol=0, atol=1e-12)
    if scheme in ("hamiltonian", "leapfrog"):
        out, state = block(x, return_state=True)
        assert block.integrator.state_names == (("z", "y") if scheme == "hamiltonian"
                                                else ("y_prev", "y"))
        torch.testing.assert_close(out, ref_traj[-1], rtol=0, atol=1e-12)
        torch.testing.assert_close(state[0], ref_aux, rtol=0, atol=1e-12)
        torch.testing.assert_close(state[1], ref_traj[-1], rtol=0, atol=1e-12)
        traj2, state2 = block(x, return_trajectory=True, return_state=True)
        torch.testing.assert_close(traj2, ref_traj, rtol=0, atol=1e-12)
        torch.testing.assert_close(state2[0], ref_aux, rtol=0, atol=1e-12)


# --- tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bias", ["scalar", "feature"])
@pytest.mark.parametrize("scheme", SCHEMES)
def test_dense_block_equals_transcription(float64, scheme, bias):
    gen = torch.Generator().manual_seed(seed_of(scheme, bias))
    block = random_block(DENSE_BLOCKS[scheme], 4, bias, gen)
    x = torch.randn(3, 4, generator=gen)
    ref_traj, ref_aux = dense_reference(scheme, block.K.detach(), block.b.detach(), x)
    assert ref_traj[-1].sub(x).abs().max() > 1e-2  # the block actually moves the states
    check_against(block, scheme, x, ref_traj, ref_aux)


@pytest.mark.parametrize("bias", ["scalar", "feature"])
@pytest.mark.parametrize("scheme", SCHEMES)
def test_conv_block_equals_transcription(float64, scheme, bias):
    gen = torch.Generator().manual_seed(100 + seed_of(scheme, bias))
    block = random_block(CONV_BLOCKS[scheme], 3, bias, gen)
    with torch.no_grad():
        block.K.mul_(1 / 3)  # keep sigma away from saturation so the test is sensitive
    x = torch.randn(2, 3, 5, 4, generator=gen)
    ref_traj, ref_aux = reference(scheme, block.K.detach(), block.b.detach(), x, conv_ops)
    assert ref_traj[-1].sub(x).abs().max() > 1e-2
    check_against(block, scheme, x, ref_traj, ref_aux)


def test_bias_shapes_follow_the_mode():
    assert stablenet.ResNet(4, N, T).b.shape == (N,)
    assert stablenet.ResNet(4, N, T, bias="feature").b.shape == (N, 4)
    assert stablenet.ConvResNet(3, N, T, bias="feature").b.shape == (N, 3)
    assert stablenet.ConvHamiltonianNet(3, N, T).K.shape == (N, 3, 3, 3, 3)
    assert stablenet.HamiltonianNet(4, N, T).K.shape == (N, 4, 4)


@pytest.mark.parametrize("activation", ["relu", "identity", torch.sigmoid])
def test_other_activations_are_used(float64, activation):
    gen = torch.Generator().manual_seed(7)
    block = stablenet.ResNet(3, N, T, activation=activation)
    with torch.no_grad():
        block.b.copy_(torch.randn(N, generator=gen))
    x = torch.randn(4, 3, generator=gen)
    sigma = {"relu": torch.relu, "identity": lambda v: v}.get(activation, activation)
    h, y = T / N, x.T  # columns
    for j in range(N):
        y = y + h * sigma(block.K[j].detach() @ y + block.b[j].detach())
    torch.testing.assert_close(block(x), y.T, rtol=0, atol=1e-12)


def test_hamiltonian_default_returns_y_only():
    block = stablenet.HamiltonianNet(4, N, T)
    out = block(torch.randn(2, 4))
    assert isinstance(out, torch.Tensor) and out.shape == (2, 4)


def test_h_is_T_over_depth():
    assert stablenet.LeapfrogNet(2, 8, 2.0).h == pytest.approx(0.25)


def test_all_ten_blocks_take_the_same_positional_arguments():
    """width, depth, T, activation, bias, init positionally; gamma and the rest by keyword."""
    import inspect

    from stablenet.schemes import CONV_BLOCKS, DENSE_BLOCKS

    def positional(cls):
        params = inspect.signature(cls).parameters.values()
        return [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]

    blocks = [*DENSE_BLOCKS.values(), *CONV_BLOCKS.values()]
    assert len(blocks) == 10
    for cls in blocks:
        assert positional(cls) == ["width", "depth", "T", "activation", "bias", "init"], cls
        assert inspect.signature(cls).parameters["gamma"].kind is inspect.Parameter.KEYWORD_ONLY
