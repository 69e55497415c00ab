"""Small linear-algebra kernels in torch: Jacobians of row-wise maps, Arnoldi, power iteration.

Every map here acts row-wise on a batch (as every field and block does), so the Jacobian
of one sample is found from one batched reverse-mode pass: repeat the sample n times,
and backpropagate the n unit vectors, one per copy: copy k returns J^T e_k = row k of J.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ..errors import NonFiniteError

MatVec = Callable[[Tensor], Tensor]
RowMap = Callable[[Tensor], Tensor]


def repeat_points(points: Tensor, n: int) -> Tensor:
    """``[S, *shape] -> [S * n, *shape]``: each point repeated n times (a fresh leaf)."""
    S, shape = points.shape[0], points.shape[1:]
    return points.detach().unsqueeze(1).expand(S, n, *shape).reshape(S * n, *shape).clone()


def unit_rows(S: int, n: int, like: Tensor) -> Tensor:
    """``[S * n, n]``: the unit vectors e_0 .. e_{n-1}, once per point."""
    return torch.eye(n, dtype=like.dtype, device=like.device).repeat(S, 1)


def jacobians(fn: RowMap, points: Tensor) -> Tensor:
    """``[S, n, n]``: the Jacobian of the row-wise map ``fn`` (output shaped like its input)
    at each of the S points: one forward pass on the repeated points, one reverse pass."""
    S, n = points.shape[0], points[0].numel()
    with torch.enable_grad():
        P = repeat_points(points, n).requires_grad_(True)
        out = fn(P)
        (rows,) = torch.autograd.grad(out, P, unit_rows(S, n, out).reshape(out.shape))
    return rows.reshape(S, n, n)


def transpose_action(fn: RowMap, point: Tensor) -> MatVec:
    """u -> J^T u for the Jacobian J of ``fn`` at one point ``[1, *shape]`` (graph kept)."""
    with torch.enable_grad():
        P = point.detach().clone().requires_grad_(True)
        out = fn(P)

    def apply(u: Tensor) -> Tensor:
        (g,) = torch.autograd.grad(out, P, u.reshape(out.shape), retain_graph=True)
        return g.reshape(-1)

    return apply


def arnoldi_eigvals(
    matvec: MatVec, m: int, like: Tensor, steps: int = 60, seed: int = 0, tol: float = 1e-12,
) -> Tensor:
    """Ritz values of A (``matvec(v) = A v`` on vectors of length m) from a ``steps``-dimensional
    Krylov space (Arnoldi with classical Gram-Schmidt applied twice).

    The Ritz values of the Hessenberg matrix H = Q^T A Q approximate the extreme (outer)
    eigenvalues of A first; when the Krylov space becomes invariant (breakdown) they are
    exact. Returns ``steps`` complex values (on breakdown the last is repeated).
    """
    steps = min(steps, m)
    gen = torch.Generator().manual_seed(seed)
    Q = torch.zeros(m, steps + 1, dtype=like.dtype, device=like.device)
    H = torch.zeros(steps + 1, steps, dtype=like.dtype, device=like.device)
    q = torch.randn(m, generator=gen, dtype=like.dtype).to(like.device)
    Q[:, 0] = q / q.norm()
    size = steps
    for j in range(steps):
        w = matvec(Q[:, j])
        for _ in range(2):
            c = Q[:, : j + 1].T @ w
            w = w - Q[:, : j + 1] @ c
            H[: j + 1, j] += c
        H[j + 1, j] = w.norm()
        if H[j + 1, j] <= tol * H[: j + 1, j].norm().clamp_min(1.0):
            size = j + 1
            break
        Q[:, j + 1] = w / H[j + 1, j]
    ritz = finite_eigvals(H[:size, :size])
    return torch.cat([ritz, ritz[-1:].expand(steps - size)]) if size < steps else ritz


def finite_eigvals(A: Tensor) -> Tensor:
    """``torch.linalg.eigvals(A)`` (batched) after checking A is finite: LAPACK given NaN or
    Inf fails with an error or crashes the process. NonFiniteError says "is not finite"
    (the callers name the matrix: which layer, weights or data)."""
    if not bool(torch.isfinite(A).all()):
        raise NonFiniteError(
            "is not finite (it holds NaN or Inf): the states overflow float64 before this "
            "layer, so the network is unstable far beyond what can be measured; reduce the "
            "step h = T / N or the weights"
        )
    return torch.linalg.eigvals(A)


def spectral_norms(A: Tensor) -> Tensor:
    """``[B]`` largest singular values of a batch ``[B, m, m]``; ``inf`` for a matrix with
    NaN or Inf entries (an amplification that overflowed float64: no SVD is attempted)."""
    finite = torch.isfinite(A).flatten(1).all(dim=1)
    out = torch.full(A.shape[:1], torch.inf, dtype=A.dtype)
    if bool(finite.any()):
        out[finite] = torch.linalg.matrix_norm(A[finite], ord=2)
    return out


def power_singular(forward: MatVec, adjoint: MatVec, v0: Tensor, iters: int = 30) -> Tensor:
    """Largest singular value of a map A, per row of ``v0``, by power iteration on A^T A.

    ``forward(v) = A v`` and ``adjoint(u) = A^T u`` act row-wise on ``[B, ...]`` batches;
    each row is normalised separately, so B independent maps are iterated at once.
    Returns sigma ``[B]`` (= ||A v|| for the final unit v, a lower bound converging up).
    """
    def unit(v: Tensor) -> Tensor:
        return v / v.flatten(1).norm(dim=1).clamp_min(1e-300).view(-1, *[1] * (v.dim() - 1))

    v = unit(v0)
    for _ in range(iters):
        v = unit(adjoint(forward(v)))
    return forward(v).flatten(1).norm(dim=1)
