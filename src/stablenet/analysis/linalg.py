"""Small linear-algebra kernels in torch: Jacobian-vector products, materialisation, Arnoldi.

A *linear map* here is a function ``matvec(V) -> A V`` acting on ``V: [S, k, m]``: S
independent maps (one per data sample) applied to k row vectors of length m each, so
``materialize`` is ``matvec(I).mT`` (all S matrices at once) and Arnoldi uses S = k = 1.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

MatVec = Callable[[Tensor], Tensor]


def jvp_rows(fn: Callable[[Tensor], Tensor], points: Tensor, V: Tensor) -> Tensor:
    """(d fn / d y at ``points[s]``) v for every row v of ``V[s]``; ``V: [S, k, n]``.

    ``fn`` maps a batch ``[B, *shape]`` row-wise (as every field does); ``points: [S, *shape]``
    are repeated k times each and pushed forward with ``torch.func.jvp`` (forward-mode AD)
    in one call. Returns ``[S, k, n]``.
    """
    S, k = V.shape[:2]
    shape = points.shape[1:]
    primal = points.unsqueeze(1).expand(S, k, *shape).reshape(S * k, *shape).clone()
    _, out = torch.func.jvp(fn, (primal,), (V.reshape(S * k, *shape),))
    return out.reshape(S, k, -1)


def materialize(matvec: MatVec, S: int, m: int, like: Tensor, chunk: int = 1024) -> Tensor:
    """The S matrices ``[S, m, m]`` of a linear map, from A e_k for the unit vectors e_k."""
    eye = torch.eye(m, dtype=like.dtype, device=like.device)
    cols = [matvec(eye[i : i + chunk].expand(S, -1, -1)) for i in range(0, m, chunk)]
    return torch.cat(cols, dim=1).mT


def arnoldi_eigvals(
    matvec: MatVec, m: int, like: Tensor, steps: int = 40, seed: int = 0, tol: float = 1e-12,
) -> Tensor:
    """Ritz values of A from a ``steps``-dimensional Krylov space (Arnoldi, CGS2).

    The Ritz values of the Hessenberg matrix H = Q^T A Q approximate the extreme (outer)
    eigenvalues of A first; when the Krylov space becomes invariant (breakdown) they are
    exact eigenvalues. Returns ``steps`` complex values (fewer on breakdown, padded by
    repeating the last one so every call has the same length).
    """
    steps = min(steps, m)
    gen = torch.Generator().manual_seed(seed)
    Q = torch.zeros(m, steps + 1, dtype=like.dtype, device=like.device)
    H = torch.zeros(steps + 1, steps, dtype=like.dtype, device=like.device)
    q = torch.randn(m, generator=gen, dtype=like.dtype).to(like.device)
    Q[:, 0] = q / q.norm()
    size = steps
    for j in range(steps):
        w = matvec(Q[:, j].view(1, 1, m)).view(m)
        for _ in range(2):  # classical Gram-Schmidt, twice (numerically orthogonal)
            c = Q[:, : j + 1].T @ w
            w = w - Q[:, : j + 1] @ c
            H[: j + 1, j] += c
        H[j + 1, j] = w.norm()
        if H[j + 1, j] <= tol * H[: j + 1, j].norm().clamp_min(1.0):
            size = j + 1
            break
        Q[:, j + 1] = w / H[j + 1, j]
    ritz = torch.linalg.eigvals(H[:size, :size])
    if size < steps:
        ritz = torch.cat([ritz, ritz[-1:].expand(steps - size)])
    return ritz


def power_singular(
    forward: MatVec, adjoint: MatVec, v0: Tensor, iters: int = 20
) -> tuple[Tensor, Tensor]:
    """Largest singular value of a map A, per row of ``v0``, by power iteration on A^T A.

    ``forward(v) = A v`` and ``adjoint(u) = A^T u`` act row-wise on ``[B, ...]`` batches;
    each row is normalised separately, so B independent maps are iterated at once.
    Returns (sigma [B], the right singular vector estimate [B, ...]).
    """
    def unit(v: Tensor) -> Tensor:
        return v / v.flatten(1).norm(dim=1).clamp_min(1e-300).view(-1, *[1] * (v.dim() - 1))

    v = unit(v0)
    for _ in range(iters):
        v = unit(adjoint(forward(v)))
    sigma = forward(v).flatten(1).norm(dim=1)
    return sigma, v
