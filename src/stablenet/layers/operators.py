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
from .transcribed import snapshot, unchanged


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
        """K y + b: ``linear`` without bias (``y K^T``, transposed in C++: 0.4-0.7 us less
        than ``mm(y, K.t())`` at small widths) then the bias added in place (on CPU
        ``addmm`` costs 2-3x as much at widths below 16 and nothing less above,
        benchmarks/opcount.py)."""
        return F.linear(y, K).add_(b) if y.dim() == 2 else F.linear(y, K) + b

    def apply(self, K: Tensor, y: Tensor) -> Tensor:
        """K y."""
        return F.linear(y, K)

    def adjoint(self, K: Tensor, y: Tensor) -> Tensor:
        """K^T y."""
        return y @ K

    def adjoint_affine(self, K: Tensor, b: Tensor, y: Tensor) -> Tensor:
        """K^T y + b."""
        return torch.mm(y, K).add_(b) if y.dim() == 2 else y @ K + b

    # -- vector-Jacobian products (hand-written backward passes) ---------------------
    # W(a, c) = d<a, K c>/dK = a^T c over the batch rows; db = the sum of u over the rows
    # (over everything for a scalar bias).

    def affine_vjp(self, K: Tensor, b: Tensor, y: Tensor, u: Tensor):
        """For a = K y + b and cotangent u: (K^T u, W(u, y), d<u, a>/db)."""
        if u.dim() == 2:  # the common case, without helper calls (small widths: overhead)
            return (torch.mm(u, K), torch.mm(u.T, y),
                    u.sum() if b.dim() == 0 else u.sum(0))
        u2, y2 = _rows(u), _rows(y)
        return u @ K, torch.mm(u2.T, y2), _bias_sum(u2, b)

    def adjoint_affine_vjp(self, K: Tensor, b: Tensor, y: Tensor, u: Tensor):
        """For a = K^T y + b and cotangent u: (K u, W(y, u), d<u, a>/db)."""
        if u.dim() == 2:
            return (F.linear(u, K), torch.mm(y.T, u),
                    u.sum() if b.dim() == 0 else u.sum(0))
        u2, y2 = _rows(u), _rows(y)
        return F.linear(u, K), torch.mm(y2.T, u2), _bias_sum(u2, b)

    def adjoint_vjp(self, K: Tensor, s: Tensor, g: Tensor):
        """For f = K^T s and cotangent g: (K g, W(s, g) = d<g, K^T s>/dK)."""
        return F.linear(g, K), torch.mm(_rows(s).T, _rows(g))

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

    # -- vector-Jacobian products: one convolution_backward call gives all three ------

    def _vjp(self, u: Tensor, y: Tensor, K: Tensor, b: Tensor | None, transposed: bool):
        p = self.padding
        bias = None if b is None else [self.channels]
        gy, gK, gb = torch.ops.aten.convolution_backward(
            u, y, K, bias, [1, 1], [p, p], [1, 1], transposed, [0, 0], 1,
            [True, True, b is not None],
        )
        if b is None:
            return gy, gK, None
        return gy, gK, gb.sum() if b.dim() == 0 else gb

    def affine_vjp(self, K: Tensor, b: Tensor, y: Tensor, u: Tensor):
        """For a = conv(y, K) + b and cotangent u: (conv^T(u, K), dK, db)."""
        return self._vjp(u, y, K, b, False)

    def adjoint_affine_vjp(self, K: Tensor, b: Tensor, y: Tensor, u: Tensor):
        """For a = conv^T(y, K) + b and cotangent u: (conv(u, K), dK, db)."""
        return self._vjp(u, y, K, b, True)

    def adjoint_vjp(self, K: Tensor, s: Tensor, g: Tensor):
        """For f = conv^T(s, K) and cotangent g: (conv(g, K), d<g, f>/dK)."""
        return self._vjp(g, s, K, None, True)[:2]

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


def fused_rows(base: Tensor) -> bool:
    """True if ``base.addmm_(u, K)`` (one kernel) beats ``mm`` then ``add_`` for a 2-D
    ``base``: off the CPU, or when its rows are whole 64-byte lines. CPU BLAS (MKL here)
    takes a slow path for C += alpha A B otherwise: 1.5-2.2x the two kernels at widths
    2-12 in float32, 0.5-0.8x at 16, 32, 64 (``python benchmarks/addmm_rows.py``)."""
    return not base.is_cpu or base.shape[1] * base.element_size() % 64 == 0


def _rows(y: Tensor) -> Tensor:
    """A batch ``[..., n]`` as rows ``[B, n]``."""
    return y if y.dim() == 2 else y.reshape(-1, y.shape[-1])


def _bias_sum(u2: Tensor, b: Tensor) -> Tensor:
    return u2.sum() if b.dim() == 0 else u2.sum(0)


VJP_METHODS = ("affine", "adjoint_affine", "adjoint", "apply")
"""The operator methods the hand-written VJPs transcribe: a subclass that overrides one of
them (new math), or a patch, gets autograd's backward instead, see :func:`has_vjp`."""


def has_vjp(operator: object) -> bool:
    """True if ``operator`` is a Dense or Conv whose forward methods are the ones the
    ``*_vjp`` methods differentiate (not overridden by a subclass)."""
    cls = type(operator)
    base = Dense if issubclass(cls, Dense) else Conv if issubclass(cls, Conv) else None
    return base is not None and unchanged(cls, _WRITTEN[base])


_WRITTEN = {cls: snapshot(cls, VJP_METHODS) for cls in (Dense, Conv)}

