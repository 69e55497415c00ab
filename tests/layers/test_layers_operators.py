"""Dense and convolutional operators: K y, the adjoint K^T y, the transposed weight."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from stablenet.errors import ConfigError, ConfigTypeError
from stablenet.layers import Conv, Dense


def conv_matrix(op: Conv, K: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """The matrix of y -> op.apply(K, y) on images of ``shape`` (columns = images of basis)."""
    n = shape[0] * shape[1] * shape[2]
    basis = torch.eye(n).reshape(n, *shape)
    return op.apply(K, basis).reshape(n, n).T


def test_dense_is_the_column_form(float64):
    gen = torch.Generator().manual_seed(0)
    op, K = Dense(3), torch.randn(3, 3, generator=gen)
    b, Y = torch.randn(3, generator=gen), torch.randn(5, 3, generator=gen)
    for i, y in enumerate(Y):
        torch.testing.assert_close(op.apply(K, Y)[i], K @ y, rtol=0, atol=1e-14)
        torch.testing.assert_close(op.adjoint(K, Y)[i], K.T @ y, rtol=0, atol=1e-14)
        torch.testing.assert_close(op.affine(K, b, Y)[i], K @ y + b, rtol=0, atol=1e-14)
        torch.testing.assert_close(op.adjoint_affine(K, b, Y)[i], K.T @ y + b, rtol=0, atol=1e-14)
    torch.testing.assert_close(Dense.transpose(K), K.T)
    assert torch.equal(op.identity(K), torch.eye(3))


@pytest.mark.parametrize("kernel_size", [3, 5])
def test_conv_adjoint_inner_product(float64, kernel_size):
    """<conv(x), y> = <x, conv_transpose(y)> to round-off."""
    gen = torch.Generator().manual_seed(kernel_size)
    op = Conv(3, kernel_size)
    K = torch.randn(op.weight_shape, generator=gen)
    x, y = torch.randn(2, 3, 6, 5, generator=gen), torch.randn(2, 3, 6, 5, generator=gen)
    lhs = (op.apply(K, x) * y).sum()
    rhs = (x * op.adjoint(K, y)).sum()
    assert abs(lhs.item()) > 1.0  # not a trivially zero identity
    assert abs((lhs - rhs).item()) < 1e-12 * abs(lhs.item())
    # and it is the library's transposed convolution with zero padding k // 2
    torch.testing.assert_close(
        op.adjoint(K, y), F.conv_transpose2d(y, K, padding=kernel_size // 2), rtol=0, atol=0
    )


@pytest.mark.parametrize("kernel_size", [3, 5])
def test_conv_transpose_weight_is_the_adjoint(float64, kernel_size):
    """Conv.transpose(K) used as a conv2d kernel applies K^T (materialised: M(K^T) = M(K)^T)."""
    gen = torch.Generator().manual_seed(10 + kernel_size)
    op = Conv(2, kernel_size)
    K = torch.randn(op.weight_shape, generator=gen)
    y = torch.randn(3, 2, 5, 6, generator=gen)
    torch.testing.assert_close(
        op.apply(Conv.transpose(K), y), op.adjoint(K, y), rtol=0, atol=1e-12
    )
    M = conv_matrix(op, K, (2, 4, 4))
    torch.testing.assert_close(conv_matrix(op, Conv.transpose(K), (2, 4, 4)), M.T, rtol=0,
                               atol=1e-12)
    assert (M - M.T).abs().max() > 0.1  # a random kernel is not self-adjoint


def test_conv_bias_modes(float64):
    op = Conv(2)
    K = torch.zeros(op.weight_shape)
    y = torch.zeros(1, 2, 3, 3)
    assert torch.equal(op.affine(K, torch.tensor(1.5), y), torch.full((1, 2, 3, 3), 1.5))
    per_channel = op.affine(K, torch.tensor([1.0, -2.0]), y)
    assert torch.equal(per_channel[0, 0], torch.ones(3, 3))
    assert torch.equal(per_channel[0, 1], -2 * torch.ones(3, 3))


def test_conv_identity_weight_is_the_identity(float64):
    op = Conv(3)
    y = torch.randn(2, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    assert torch.equal(op.apply(op.identity(y), y), y)


def test_bad_sizes_and_inputs_raise():
    with pytest.raises(ConfigError, match="width"):
        Dense(0)
    with pytest.raises(ConfigTypeError, match="width"):
        Dense(2.0)
    with pytest.raises(ConfigError, match="odd"):
        Conv(2, kernel_size=4)
    with pytest.raises(ConfigError, match=r"\[batch, 3\]"):
        Dense(3).check_input(torch.zeros(2, 4))
    with pytest.raises(ConfigError, match="channels"):
        Conv(3).check_input(torch.zeros(2, 4, 5, 5))
    with pytest.raises(ConfigError):
        Conv(3).check_input(torch.zeros(3, 5, 5))
