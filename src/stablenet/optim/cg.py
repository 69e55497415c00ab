"""Preconditioned conjugate gradients for the Newton and Gauss-Newton systems.

Solves ``A x = b`` for a symmetric positive (semi-)definite ``A`` given only as a
matrix-vector product, with an optional symmetric positive definite preconditioner
``M ~ A^{-1}`` (also a function). Starting from ``x_0 = 0``::

    r_0 = b, z_0 = M r_0, p_0 = z_0
    a_k = (r_k . z_k) / (p_k . A p_k)
    x_{k+1} = x_k + a_k p_k,          r_{k+1} = r_k - a_k A p_k
    z_{k+1} = M r_{k+1},              p_{k+1} = z_{k+1} + (r_{k+1} . z_{k+1}) / (r_k . z_k) p_k

stopping when ``|r_k| <= rtol |b|`` or after ``max_iters`` products. Inexact (truncated)
Newton uses the iterate reached so far. If a direction of non-positive curvature
``p . A p <= 0`` appears, CG stops there (Steihaug); on the first iteration it returns the
preconditioned right-hand side ``M b``, which is a descent direction when ``b = -grad``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

MatVec = Callable[[Tensor], Tensor]


@dataclass
class CGResult:
    """``x`` the (approximate) solution, ``iters`` the number of products with A,
    ``residual`` = |b - A x| / |b| (relative), ``converged`` whether ``rtol`` was met."""

    x: Tensor
    iters: int
    residual: float
    converged: bool


def pcg(
    matvec: MatVec, b: Tensor, precond: MatVec | None = None, *, max_iters: int = 10,
    rtol: float = 1e-1,
) -> CGResult:
    """Approximately solve ``A x = b`` (1-D tensors) by preconditioned CG from ``x = 0``."""
    apply_m = precond if precond is not None else (lambda r: r)
    x = torch.zeros_like(b)
    b_norm = float(torch.linalg.vector_norm(b))
    if b_norm == 0.0:
        return CGResult(x, 0, 0.0, True)
    r = b.clone()
    z = apply_m(r)
    p = z.clone()
    rz = torch.dot(r, z)
    iters, rel = 0, 1.0
    for k in range(max_iters):
        ap = matvec(p)
        iters = k + 1
        curvature = torch.dot(p, ap)
        if curvature <= 0:
            if k == 0:
                x = z
            break
        a = rz / curvature
        x = x + a * p
        r = r - a * ap
        rel = float(torch.linalg.vector_norm(r)) / b_norm
        if rel <= rtol:
            return CGResult(x, iters, rel, True)
        z = apply_m(r)
        rz_new = torch.dot(r, z)
        p = z + (rz_new / rz) * p
        rz = rz_new
    return CGResult(x, iters, rel, False)
