"""Eigenvalues of every layer: of the applied weight operator and of the linearised field.

For layer j with applied weights w_j = (K_j, b_j) (K_j after the parametrisation):

* the **weight operator** is the Jacobian of the field with sigma = identity:
  ``Plain``: K_j (the antisymmetric network: 1/2 (K_j - K_j^T - gamma I));
  ``Gradient``: -K_j^T K_j; ``Hamiltonian``: [[0, K_j], [-K_j^T, 0]] acting on (y, z);
* the **linearised Jacobian** at a state the data pass through:
  ``Plain``: diag(sigma'(K_j y_j + b_j)) K_j; ``Gradient``: -K_j^T diag(sigma'(.)) K_j;
  partitioned fields (dy/dt = dy(z), dz/dt = dz(y)): [[0, d dy/dz (z_j)], [d dz/dy (y_j), 0]]
  at the integrator's state (z_j, y_j) before layer j.

Both come from automatic differentiation of the block's own field (``block.field``), so
every field of the library is covered. Operators of size m <= ``exact_max`` (every dense
layer; convolutions on small images, m = C H W, twice that for partitioned fields) are
materialised and their eigenvalues are exact (``torch.linalg.eigvals``); larger ones get
``arnoldi_steps`` Ritz values of J^T (Arnoldi; the same spectrum as J), approximating the
extreme eigenvalues. Convolutions without data are analysed on ``image_size`` x
``image_size`` images (zero padding makes the spectrum depend on the size).

Leapfrog integrates the second-order ODE y'' = F(y) with the force F of a ``Gradient``
field, so its stability region applies to the eigenvalues +-sqrt(mu) of the first-order
system (mu the eigenvalues of dF/dy = -K^T D K: so +-i sqrt(eig(K^T D K))):
:meth:`BlockSpectrum.system` returns those.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ..activations import identity
from ..blocks import StableBlock
from ..errors import NonFiniteError
from ..integrators import Leapfrog
from ..interfaces import AnyField, Integrator, Weights
from ..layers.fields import SecondOrder
from .linalg import arnoldi_eigvals, finite_eigvals, jacobians, transpose_action
from .network import analysed, is_block, iterate_states, named_state


@dataclass(frozen=True, eq=False)
class BlockSpectrum:
    """Per-layer eigenvalues of one stable block.

    Attributes:
        weights: ``[N, m]`` complex, eigenvalues of the applied weight operator of each layer.
        data: ``[N, S, m]`` complex, eigenvalues of the linearised field at the states of S
            data samples (``None`` without data).
        h: the step size; integrator: the block's integrator (its ``stability_margin``).
        form: the field's form; exact: False if the values are Arnoldi Ritz values.
    """

    weights: Tensor
    data: Tensor | None
    h: float
    integrator: Integrator
    form: str
    exact: bool

    @property
    def second_order(self) -> bool:
        """True when the field is a force y'' = F(y) integrated directly (leapfrog)."""
        return isinstance(self.integrator, Leapfrog)

    def system(self, source: str = "weights") -> Tensor:
        """``[N, M]``: per layer, the eigenvalues of the first-order system that the
        integrator's stability region applies to (``source``: "weights" or "data", the
        samples flattened): lambda itself, or +-sqrt(lambda) for leapfrog."""
        lam = self.weights if source == "weights" else self.data
        if lam is None:
            raise ValueError("no data eigenvalues: call spectra(..., x=data)")
        lam = lam.reshape(lam.shape[0], -1)
        if self.second_order:
            root = torch.sqrt(lam)
            lam = torch.cat([root, -root], dim=1)
        return lam


def linear_field(field: AnyField) -> AnyField:
    """The same field with sigma = identity: its Jacobian is the layer's weight operator."""
    if isinstance(field, SecondOrder):
        return SecondOrder(linear_field(field.force))
    twin = copy.copy(field)
    twin.sigma = identity
    return twin


def layer_jacobians(field: AnyField, w: Weights, y: Tensor, z: Tensor | None) -> Tensor:
    """``[S, m, m]``: the field's Jacobian at each point (y[s], z[s]); (y, z) ordering."""
    if not field.partitioned:
        return jacobians(lambda Y: field(w, Y), y)
    A = jacobians(lambda Z: field.dy(w, Z), z)  # d(dy/dt)/dz
    B = jacobians(lambda Y: field.dz(w, Y), y)  # d(dz/dt)/dy
    zero = torch.zeros_like(A)
    return torch.cat([torch.cat([zero, A], dim=2), torch.cat([B, zero], dim=2)], dim=1)


def layer_ritz(field: AnyField, w: Weights, y: Tensor, z: Tensor | None,
               steps: int) -> Tensor:
    """``[steps]`` Ritz values of J^T at one point ``y, z: [1, *shape]`` (Arnoldi)."""
    if not field.partitioned:
        return arnoldi_eigvals(transpose_action(lambda Y: field(w, Y), y), y.numel(), y, steps)
    n = y.numel()
    a_t = transpose_action(lambda Z: field.dy(w, Z), z)  # A^T
    b_t = transpose_action(lambda Y: field.dz(w, Y), y)  # B^T

    def matvec(u: Tensor) -> Tensor:  # J^T u = (B^T u_z, A^T u_y) for J = [[0, A], [B, 0]]
        return torch.cat([b_t(u[n:]), a_t(u[:n])])

    return arnoldi_eigvals(matvec, 2 * n, y, steps)


def layer_eigvals(
    field: AnyField, w: Weights, y: Tensor, z: Tensor | None, exact_max: int = 1024,
    arnoldi_steps: int = 60,
) -> Tensor:
    """``[S, M]`` eigenvalues of the field's Jacobian at each of the S points (y[s], z[s]):
    exact (M = m) when m <= ``exact_max``, else ``arnoldi_steps`` Ritz values."""
    m = (2 if field.partitioned else 1) * y[0].numel()
    if m <= exact_max:
        return finite_eigvals(layer_jacobians(field, w, y, z))
    return torch.stack([
        layer_ritz(field, w, y[s : s + 1], None if z is None else z[s : s + 1], arnoldi_steps)
        for s in range(len(y))
    ])


def _layer(j: int, what: str, field: AnyField, w: Weights, y: Tensor, z: Tensor | None,
           opts: dict[str, Any]) -> Tensor:
    """:func:`layer_eigvals` of layer ``j``, naming the layer when its matrix is not finite."""
    try:
        return layer_eigvals(field, w, y, z, **opts)
    except NonFiniteError as exc:
        raise NonFiniteError(f"layer {j}: the {what} {exc}") from None


def _sample_shape(block: StableBlock, y0: Tensor | None, image_size: int) -> tuple[int, ...]:
    if y0 is not None:
        return tuple(y0.shape[1:])
    if block.operator.kind == "conv":
        return (block.width, image_size, image_size)
    return (block.width,)


def block_spectrum(
    block: StableBlock, y0: Tensor | None = None, *, samples: int = 8, image_size: int = 8,
    exact_max: int = 1024, arnoldi_steps: int = 60,
) -> BlockSpectrum:
    """Eigenvalues of one (float64) block; ``y0``: its input states ``[B, ...]`` or None."""
    shape = _sample_shape(block, y0, image_size)
    m = (2 if block.field.partitioned else 1) * int(torch.Size(shape).numel())
    opts = {"exact_max": exact_max, "arnoldi_steps": arnoldi_steps}
    K, b = block.weights()
    K, b = K.detach(), b.detach()
    lin, zero = linear_field(block.field), K.new_zeros(1, *shape)
    weights = torch.stack([
        _layer(j, "weight operator", lin, (K[j], b[j]), zero, zero, opts)[0]
        for j in range(block.depth)
    ])
    data = None
    if y0 is not None:
        per_layer = []
        with torch.no_grad():
            for j, state in enumerate(iterate_states(block, y0[:samples].detach())):
                if j == block.depth:  # the final state has no layer after it
                    break
                named = named_state(block, state)
                per_layer.append(_layer(j, "Jacobian at the data", block.field, (K[j], b[j]),
                                        named["y"], named.get("z"), opts))
        data = torch.stack(per_layer)
    return BlockSpectrum(weights, data, block.h, block.integrator, block.field.form, m <= exact_max)


def spectra(
    model_or_block: nn.Module, x: Tensor | None = None, **kwargs: Any
) -> BlockSpectrum | list[BlockSpectrum]:
    """Per-layer eigenvalues of a block (a :class:`BlockSpectrum`) or of every block of a
    model (a list, one per stable block: ``model.blocks``, or the blocks inside any
    module), computed in float64 (NonFiniteError for NaN / Inf weights or inputs).

    ``x``: optional data (the model's or block's input); the first ``samples`` (default 8)
    rows are followed through the network and the Jacobian eigenvalues of every layer are
    computed at each of their states (all kept, ``data[j, s]``; the margins take the worst).
    Keyword arguments: ``samples``, ``image_size``, ``exact_max``, ``arnoldi_steps``.
    """
    net, blocks, inputs = analysed(model_or_block, x)
    result = []
    for i, (blk, y0) in enumerate(zip(blocks, inputs, strict=True)):
        try:
            result.append(block_spectrum(blk, y0, **kwargs))
        except NonFiniteError as exc:
            raise NonFiniteError(f"block {i}: {exc}") from None
    return result[0] if is_block(net) else result
