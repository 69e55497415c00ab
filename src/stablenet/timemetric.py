"""Inner products on weights in time, diagonalised by the discrete cosine transform.

For a stacked weight ``theta: [N, ...]`` sampled at t_j = j h, D the forward difference
(``(D theta)_j = theta_{j+1} - theta_j``, j = 0 .. N-2) and D^T D the 1-D Laplacian with
Neumann ends, the Sobolev inner product of H^1(0, T) with weight alpha,

    <u, v>_M = h sum_j u_j v_j + (alpha / h) sum_j (D u)_j (D v)_j = u^T M v,
    M = h I + (alpha / h) D^T D,

discretises int_0^T u v dt + alpha int_0^T u' v' dt (alpha = 0: L2(0, T)). D^T D is
diagonalised by the orthonormal DCT-II basis,

    Q[j, k] = c_k cos(pi k (j + 1/2) / N),  c_0 = sqrt(1/N), c_k = sqrt(2/N),
    D^T D = Q diag(lambda) Q^T,              lambda_k = 2 - 2 cos(pi k / N),

so any power M^p = Q diag((h + alpha/h lambda_k)^p) Q^T along dim 0 costs two FFTs of
length N per entry of the weight (:func:`dct`, :func:`idct`: O(N log N), no N x N matrix).
M is the metric in which the training problem's gradients and curvature do not depend on
the depth (see :mod:`stablenet.train.metric`); alpha/h D^T D is also the Hessian of the
time-smoothness penalty alpha/(2h) sum_j |theta_{j+1} - theta_j|^2.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def laplacian_eigenvalues(n: int, like: Tensor) -> Tensor:
    """lambda_k = 2 - 2 cos(pi k / n), k = 0 .. n-1, the eigenvalues of D^T D."""
    k = torch.arange(n, dtype=torch.float64, device=like.device)
    return (2.0 - 2.0 * torch.cos(math.pi * k / n)).to(like.dtype)


def _scales(n: int, like: Tensor) -> Tensor:
    c = torch.full((n,), math.sqrt(2.0 / n), dtype=like.dtype, device=like.device)
    c[0] = math.sqrt(1.0 / n)
    return c


def _twiddle(n: int, like: Tensor, sign: float) -> Tensor:
    k = torch.arange(n, dtype=torch.float64, device=like.device)
    w = torch.polar(torch.ones_like(k), sign * math.pi * k / (2 * n))
    return w.to(torch.complex128 if like.dtype == torch.float64 else torch.complex64)


def dct(x: Tensor) -> Tensor:
    """Q^T x along dim 0 (orthonormal DCT-II), by one FFT of the even-odd reordering."""
    n = x.shape[0]
    v = torch.cat([x[0::2], x[1::2].flip(0)])
    V = torch.fft.fft(v, dim=0)
    shape = (n,) + (1,) * (x.dim() - 1)
    X = (V * _twiddle(n, x, -1.0).reshape(shape)).real
    return X * _scales(n, x).reshape(shape)


def idct(y: Tensor) -> Tensor:
    """Q y along dim 0 (the inverse of :func:`dct`)."""
    n = y.shape[0]
    shape = (n,) + (1,) * (y.dim() - 1)
    X = y / _scales(n, y).reshape(shape)  # unnormalised DCT-II coefficients
    X_rev = torch.cat([torch.zeros_like(X[:1]), X[1:].flip(0)])  # X_{n-k}, X_n = 0
    V = _twiddle(n, y, 1.0).reshape(shape) * torch.complex(X, -X_rev)
    v = torch.fft.ifft(V, dim=0).real
    x = torch.empty_like(y)
    half = (n + 1) // 2
    x[0::2] = v[:half]
    x[1::2] = v[half:].flip(0)
    return x


class TimeMetric:
    """M = h I + (alpha / h) D^T D on weights ``[N, ...]`` stacked in time (module docstring).

    ``power(v, p)`` = M^p v along dim 0: p = -1 turns a Euclidean gradient into the gradient in
    this inner product, p = -1/2 maps the coordinates p = M^{1/2} theta, in which the Euclidean
    inner product is <., .>_M, back to theta.
    """

    def __init__(self, depth: int, h: float, alpha: float = 0.0) -> None:
        self.depth, self.h, self.alpha = int(depth), float(h), float(alpha)

    def eigenvalues(self, like: Tensor) -> Tensor:
        """h + alpha/h lambda_k, the eigenvalues of M (all >= h > 0)."""
        return self.h + self.alpha / self.h * laplacian_eigenvalues(self.depth, like)

    def power(self, v: Tensor, p: float) -> Tensor:
        """M^p v along dim 0 of ``v: [N, ...]``."""
        if self.alpha == 0.0:  # M = h I
            return v * self.h**p
        shape = (self.depth,) + (1,) * (v.dim() - 1)
        return idct(dct(v) * self.eigenvalues(v).pow(p).reshape(shape))

    def apply(self, v: Tensor) -> Tensor:
        """M v by differences (no transform): h v + alpha/h D^T D v."""
        dv = v[1:] - v[:-1]
        lap = torch.zeros_like(v)
        lap[:-1] -= dv
        lap[1:] += dv
        return self.h * v + self.alpha / self.h * lap

    def __repr__(self) -> str:
        return f"TimeMetric(depth={self.depth}, h={self.h:g}, alpha={self.alpha:g})"
