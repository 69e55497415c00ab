"""The linear operators K_j of a layer: dense matrices and 3x3 convolutions.

An operator is stateless: the block owns the stacked weights ``K: [N, *weight_shape]``
and passes one slice ``K_j`` per step. Each operator knows how to apply K_j and its
adjoint K_j^T, how to transpose a stacked weight (so that parametrisations such as
1/2 (K - K^T) become one tensor expression over dim 0), and the identity weight.

Every operator has a ``width``: the size of the dimension K_j acts on, the n features of
a dense state ``[B, n]`` or the C channels of an image state ``[B, C, H, W]``
(``Conv.channels``); the library uses "width" for that size in general and "channels"
where only images are meant.

Row (batch) convention: a batch Y of shape ``[B, n]`` is mapped to ``Y K^T``, i.e. each
row y is mapped to K y exactly as in the column form of the paper (docs/theory.md).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..checks import positive_int
from ..errors import ConfigError

# the old name, still imported by memory/modes.py (to go when that module uses checks)
check_positive_int = positive_int


class Dense:
    """K_j is an n x n matrix; K_j y for a batch ``[B, n]`` is ``Y @ K_j.T``."""

    kind = "dense"

    def __init__(self, width: int) -> None:
        self.width = positive_int("width", width)
        self.weight_shape: tuple[int, ...] = (self.width, self.width)
        self.fan_in = self.width

    def bias_shape(self, mode: str) -> tuple[int, ...]:
        return () if mode == "scalar" else (self.width,)

    def affine(self, K: Tensor, b: Tensor, y: Tensor) -> Tensor:
        """K y + b (fused: one ``addmm``)."""
        return torch.addmm(b, y, K.t()) if y.dim() == 2 else y @ K.t() + b

    def apply(self, K: Tensor, y: Tensor) -> Tensor:
        """K y."""
        return y @ K.t()

    def adjoint(self, K: Tensor, y: Tensor) -> Tensor:
        """K^T y."""
        return y @ K

    def adjoint_affine(self, K: Tensor, b: Tensor, y: Tensor) -> Tensor:
        """K^T y + b."""
        return torch.addmm(b, y, K) if y.dim() == 2 else y @ K + b

    @staticmethod
    def transpose(K: Tensor) -> Tensor:
        """The weight of K^T, for stacked ``[..., n, n]`` weights."""
        return K.transpose(-1, -2)

    def identity(self, like: Tensor) -> Tensor:
        return torch.eye(self.width, dtype=like.dtype, device=like.device)

    def check_input(self, y: Tensor) -> None:
        if y.dim() < 1 or y.shape[-1] != self.width:
            raise ConfigError(
                f"dense block of width {self.width} expects input [batch, {self.width}], "
                f"got {tuple(y.shape)}"
            )

    def __repr__(self) -> str:
        return f"Dense({self.width})"


class Conv:
    """K_j is a k x k convolution from C to C channels (stride 1, zero padding k // 2).

    K_j^T is the adjoint, the transposed convolution with the same kernel; as a weight it
    is the kernel with in/out channels swapped and spatially flipped.
    """

    kind = "conv"

    def __init__(self, channels: int, kernel_size: int = 3) -> None:
        self.channels = positive_int("channels", channels)
        self.kernel_size = positive_int("kernel_size", kernel_size)
        if kernel_size % 2 == 0:
            raise ConfigError(f"kernel_size must be odd (same padding), got {kernel_size}")
        self.padding = kernel_size // 2
        self.weight_shape = (self.channels, self.channels, kernel_size, kernel_size)
        self.fan_in = self.channels * kernel_size * kernel_size

    @property
    def width(self) -> int:
        """The operator's ``width``, as every operator has one: here the channels C."""
        return self.channels

    def bias_shape(self, mode: str) -> tuple[int, ...]:
        return () if mode == "scalar" else (self.channels,)

    def _bias(self, b: Tensor) -> Tensor:
        return b.expand(self.channels) if b.dim() == 0 else b

    def affine(self, K: Tensor, b: Tensor, y: Tensor) -> Tensor:
        return F.conv2d(y, K, self._bias(b), padding=self.padding)

    def apply(self, K: Tensor, y: Tensor) -> Tensor:
        return F.conv2d(y, K, padding=self.padding)

    def adjoint(self, K: Tensor, y: Tensor) -> Tensor:
        return F.conv_transpose2d(y, K, padding=self.padding)

    def adjoint_affine(self, K: Tensor, b: Tensor, y: Tensor) -> Tensor:
        return F.conv_transpose2d(y, K, self._bias(b), padding=self.padding)

    @staticmethod
    def transpose(K: Tensor) -> Tensor:
        """Kernel of the adjoint convolution, for stacked ``[..., C, C, k, k]`` kernels."""
        return K.transpose(-3, -4).flip(-1, -2)

    def identity(self, like: Tensor) -> Tensor:
        k = self.kernel_size
        eye = torch.zeros(self.weight_shape, dtype=like.dtype, device=like.device)
        eye[:, :, k // 2, k // 2] = torch.eye(self.channels, dtype=like.dtype, device=like.device)
        return eye

    def check_input(self, y: Tensor) -> None:
        if y.dim() != 4 or y.shape[1] != self.channels:
            raise ConfigError(
                f"convolutional block with {self.channels} channels expects input "
                f"[batch, {self.channels}, H, W], got {tuple(y.shape)}"
            )

    def __repr__(self) -> str:
        return f"Conv({self.channels}, kernel_size={self.kernel_size})"

