"""The competitors of a stablenet block in ``benchmarks/speed.py``, on the block's own weights.

Every competitor is a function ``run(x) -> y_N`` that reads the block's parameters
``K: [N, ...]``, ``b: [N]`` (scalar bias, the paper's and the benchmark's choice) when
called, so one backward pass reaches the same parameters as the block's:

* :func:`handwritten` (``tuned=False``): the loop a user writes from the paper, e.g.
  ``y = y + h * torch.tanh(y @ K[j].T + b[j])`` (weights indexed per step);
* :func:`handwritten` (``tuned=True``): the loop an expert writes: weights pre-split once
  (``unbind``), matmul + bias fused (``addmm``), ``y + h f`` as one ``torch.add(alpha=h)``,
  ``y - h K^T s`` as one ``addmm(alpha=-h)``;
* :func:`torchdiffeq_solver`: ``torchdiffeq.odeint(f, x, t=[0, T], method="euler" | "rk4",
  options={"step_size": h})`` with ``f(t, y)`` picking layer j from t (the faster of the
  two fixed-grid forms; ``t=linspace(0, T, N + 1)`` is O(N^2) in backward);
* :func:`autograd_fallback`: the same block with a user's callable activation, which
  stablenet differentiates with autograd through the loop instead of its written adjoint;
* :func:`torchdyn_solver`: ``torchdyn.numerics.odeint(f, x, t_span, solver="euler")``,
  saving only the final state.

The ODE libraries only have first-order explicit solvers: their fixed-grid Euler is
exactly the ResNet, antisymmetric and parabolic update rules (``SAME_MATH``); the
Verlet (hamiltonian) and leapfrog schemes have no counterpart there, and ``rk4`` is a
different (4x costlier) scheme timed only for reference.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

EULER_SCHEMES = ("resnet", "antisymmetric", "parabolic")
Run = Callable[[Tensor], Tensor]


def applied_weight(block, K: Tensor) -> Tensor:
    """K, or 1/2 (K - K^T - gamma I) for the antisymmetric scheme, as a user writes it."""
    gamma = getattr(block.parametrization, "gamma", None)
    if gamma is None:
        return K
    if K.dim() == 3:  # dense [N, n, n]
        eye = torch.eye(K.shape[-1], dtype=K.dtype, device=K.device)
        return 0.5 * (K - K.transpose(1, 2)) - 0.5 * gamma * eye
    eye = torch.zeros_like(K[0])  # conv [N, C, C, k, k]: identity kernel
    c = K.shape[-1] // 2
    eye[:, :, c, c] = torch.eye(K.shape[1], dtype=K.dtype, device=K.device)
    return 0.5 * (K - K.transpose(1, 2).flip(-1, -2)) - 0.5 * gamma * eye


def _naive_ops(conv: bool):
    """(K y + b, K^T y + b, K^T y) for one layer, written the obvious way."""
    if conv:
        return (
            lambda y, K, b: F.conv2d(y, K, padding=K.shape[-1] // 2) + b,
            lambda y, K, b: F.conv_transpose2d(y, K, padding=K.shape[-1] // 2) + b,
            lambda y, K: F.conv_transpose2d(y, K, padding=K.shape[-1] // 2),
        )
    return (lambda y, K, b: y @ K.T + b, lambda y, K, b: y @ K + b, lambda y, K: y @ K)


def naive_loop(scheme: str, conv: bool, block) -> Run:
    """The paper's update rule transcribed directly: ``K[j]``, ``b[j]`` indexed per step."""
    aff, adj_aff, adj = _naive_ops(conv)
    h, sigma = block.h, torch.tanh

    def run(x: Tensor) -> Tensor:
        K, b = applied_weight(block, block.K), block.b
        y = x
        if scheme in ("resnet", "antisymmetric"):
            for j in range(K.shape[0]):
                y = y + h * sigma(aff(y, K[j], b[j]))
        elif scheme == "parabolic":
            for j in range(K.shape[0]):
                y = y - h * adj(sigma(aff(y, K[j], b[j])), K[j])
        elif scheme == "hamiltonian":
            z = torch.zeros_like(x)
            for j in range(K.shape[0]):
                z = z - h * sigma(adj_aff(y, K[j], b[j]))
                y = y + h * sigma(aff(z, K[j], b[j]))
        elif scheme == "leapfrog":
            y_prev = x
            for j in range(K.shape[0]):
                y_prev, y = y, 2 * y - y_prev - h * h * adj(sigma(aff(y, K[j], b[j])), K[j])
        else:
            raise ValueError(scheme)
        return y

    return run


def _tuned_ops(conv: bool):
    """(K y + b, K^T y + b, base + alpha K^T s) with fused kernels."""
    if conv:
        def aff(y, K, b):
            return F.conv2d(y, K, b.expand(K.shape[0]), padding=K.shape[-1] // 2)

        def adj_aff(y, K, b):
            return F.conv_transpose2d(y, K, b.expand(K.shape[0]), padding=K.shape[-1] // 2)

        def adj_acc(base, s, K, alpha):
            return torch.add(base, F.conv_transpose2d(s, K, padding=K.shape[-1] // 2),
                             alpha=alpha)

        return aff, adj_aff, adj_acc
    return (
        lambda y, K, b: torch.addmm(b, y, K.t()),
        lambda y, K, b: torch.addmm(b, y, K),
        lambda base, s, K, alpha: torch.addmm(base, s, K, alpha=alpha),
    )


def tuned_loop(scheme: str, conv: bool, block) -> Run:
    """The expert's loop: pre-split weights, addmm, ``torch.add(alpha=...)``, no temporaries."""
    aff, adj_aff, adj_acc = _tuned_ops(conv)
    h, sigma = block.h, torch.tanh

    def run(x: Tensor) -> Tensor:
        K, b = applied_weight(block, block.K), block.b
        layers = list(zip(K.unbind(0), b.unbind(0), strict=True))
        y = x
        if scheme in ("resnet", "antisymmetric"):
            for Kj, bj in layers:
                y = torch.add(y, sigma(aff(y, Kj, bj)), alpha=h)
        elif scheme == "parabolic":
            for Kj, bj in layers:
                y = adj_acc(y, sigma(aff(y, Kj, bj)), Kj, -h)
        elif scheme == "hamiltonian":
            z = torch.zeros_like(x)
            for Kj, bj in layers:
                z = torch.add(z, sigma(adj_aff(y, Kj, bj)), alpha=-h)
                y = torch.add(y, sigma(aff(z, Kj, bj)), alpha=h)
        elif scheme == "leapfrog":
            y_prev = x
            for Kj, bj in layers:
                y_prev, y = y, adj_acc(2 * y - y_prev, sigma(aff(y, Kj, bj)), Kj, -h * h)
        else:
            raise ValueError(scheme)
        return y

    return run


def handwritten(scheme: str, conv: bool, block, tuned: bool = False) -> Run:
    """The hand-written PyTorch loop of ``scheme`` (naive or tuned) on ``block``'s weights."""
    return (tuned_loop if tuned else naive_loop)(scheme, conv, block)


def _layer_field(scheme: str, conv: bool, block):
    """f(t, y) = f_j(y), j = the layer whose interval [t_j, t_{j+1}) holds t.

    j = min(int(t / h + 1/4), N - 1): the quarter step absorbs the rounding of t (t_j is
    j h only up to float error, which would make ``int(t / h)`` pick layer j - 1).
    """
    if scheme not in EULER_SCHEMES:
        raise ValueError(f"{scheme} is not a forward-Euler scheme")
    aff = _tuned_ops(conv)[0]
    adj = _naive_ops(conv)[2]
    N, inv_h = block.depth, 1.0 / block.h
    K, b = applied_weight(block, block.K), block.b
    Ks, bs = K.unbind(0), b.unbind(0)

    def f(t: Tensor, y: Tensor) -> Tensor:
        j = min(int(float(t) * inv_h + 0.25), N - 1)
        s = torch.tanh(aff(y, Ks[j], bs[j]))
        return s if scheme != "parabolic" else adj(s, Ks[j]).neg_()

    return f


def torchdiffeq_solver(scheme: str, conv: bool, block, method: str = "euler",
                       grid: bool = False) -> Run | None:
    """torchdiffeq's fixed-grid ``method`` with step h over [0, T], or None if absent.

    Default: ``odeint(f, x, t=[0, T], method, options={"step_size": h})``, which returns
    only y_N. ``grid=True``: ``t = linspace(0, T, N + 1)``, which returns all N + 1
    states; its backward copies the whole ``[N + 1, *x.shape]`` solution gradient once
    per step (O(N^2) memory traffic), so it is far slower at large N.
    """
    try:  # lazily: torchdiffeq is an optional, benchmark-only competitor
        from torchdiffeq import odeint
    except ImportError:
        return None

    def run(x: Tensor) -> Tensor:
        f = _layer_field(scheme, conv, block)
        if grid:
            t = torch.linspace(0.0, block.T, block.depth + 1, dtype=x.dtype, device=x.device)
            return odeint(f, x, t, method=method)[-1]
        t = torch.tensor([0.0, block.T], dtype=x.dtype, device=x.device)
        return odeint(f, x, t, method=method, options={"step_size": block.h})[-1]

    return run


def torchdyn_solver(scheme: str, conv: bool, block) -> Run | None:
    """torchdyn's functional ``odeint(..., solver="euler")`` saving only y_N, or None."""
    try:  # lazily: torchdyn is an optional, benchmark-only competitor
        from torchdyn.numerics import odeint
    except ImportError:
        return None

    def run(x: Tensor) -> Tensor:
        t = torch.linspace(0.0, block.T, block.depth + 1, dtype=x.dtype, device=x.device)
        _, sol = odeint(_layer_field(scheme, conv, block), x, t, solver="euler", save_at=t[-1:])
        return sol[-1]

    return run


def user_tanh(t: Tensor) -> Tensor:
    """tanh as a user's own callable: stablenet has no written derivative for it."""
    return torch.tanh(t)


def autograd_fallback(block) -> Run:
    """The same block with a user's callable activation (tanh), so the loop is recorded
    by autograd instead of running the written adjoint; it shares the block's parameters."""
    twin = copy.deepcopy(block)
    field = twin.field
    inner = getattr(field, "force", field)  # Verlet wraps a force as SecondOrder(force)
    inner.sigma, inner.sigma_vjp = user_tanh, None
    twin.K, twin.b = block.K, block.b
    assert not getattr(twin.field, "has_vjp", False)
    return twin


def versions() -> dict[str, str]:
    """Installed versions of the optional competitors ("absent" if not installed)."""
    out = {}
    for name in ("torchdiffeq", "torchdyn"):
        try:
            out[name] = __import__(name).__version__
        except ImportError:
            out[name] = "absent"
    return out
