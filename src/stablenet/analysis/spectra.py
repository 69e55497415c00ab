"""Eigenvalues of every layer: of the applied weight operator and of the linearised field.

For layer j with applied weights w_j = (K_j, b_j) (K_j after the parametrisation):

* the **weight operator** is the Jacobian of the field with sigma = identity:
  ``Plain``: K_j (the antisymmetric network: 1/2 (K_j - K_j^T - gamma I));
  ``Gradient``: -K_j^T K_j; ``Hamiltonian``: [[0, K_j], [-K_j^T, 0]] acting on (y, z);
* the **linearised Jacobian** at a state the data pass through:
  ``Plain``: diag(sigma'(K_j y_j + b_j)) K_j; ``Gradient``: -K_j^T diag(sigma'(.)) K_j;
  partitioned fields: [[0, d dy/dz (z_j)], [d dz/dy (y_j), 0]] at the state (y_j, z_j)
  before layer j (Verlet: z_j, the auxiliary state).

Both are computed by forward-mode AD of the block's own field (``block.field``), so every
field of the library is covered. Operators of size m <= ``exact_max`` (every dense layer;
convolutions on small images, m = C H W) are materialised and their eigenvalues are exact
(``torch.linalg.eigvals``); larger ones get ``arnoldi_steps`` Ritz values (Arnoldi), which
approximate the extreme eigenvalues. Convolutions without data are analysed on
``image_size`` x ``image_size`` images (zero padding makes the spectrum depend on it).

Leapfrog integrates the second-order ODE y'' = F(y) with the force F of a ``Gradient``
field, so its stability region applies to the eigenvalues +-sqrt(mu) of the first-order
system (mu the eigenvalues of dF/dy = -K^T D K, so +-i sqrt(eig(K^T D K))):
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
from ..integrators import Leapfrog
from ..layers.fields import SecondOrder
from .linalg import MatVec, arnoldi_eigvals, jvp_rows, materialize
from .network import analysis_copy, block_inputs, is_block, iterate_states, named_state


@dataclass(frozen=True, eq=False)
class BlockSpectrum:
    """Per-layer eigenvalues of one stable block.

    Attributes:
        weights: ``[N, m]`` complex, eigenvalues of the applied weight operator of each layer.
        data: ``[N, S, m]`` complex, eigenvalues of the linearised field at the states of S
            data samples (``None`` without data).
        h: the step size; integrator: the block's integrator (its ``stability_margin``).
        exact: True if all eigenvalues are exact, False if some are Arnoldi Ritz values.
    """

    weights: Tensor
    data: Tensor | None
    h: float
    integrator: Any
    form: str
    exact: bool

    @property
    def second_order(self) -> bool:
        """True when the field is a force y'' = F(y) integrated directly (leapfrog)."""
        return isinstance(self.integrator, Leapfrog)

    def system(self, source: str = "weights") -> Tensor:
        """``[N, M]`` eigenvalues of the first-order system, per layer, that the integrator's
        stability region applies to (``source`` = "weights" or "data", samples flattened)."""
        lam = self.weights if source == "weights" else self.data
        if lam is None:
            raise ValueError("no data eigenvalues: call spectra(..., x=data)")
        lam = lam.reshape(lam.shape[0], -1)
        if self.second_order:
            root = torch.sqrt(lam)
            lam = torch.cat([root, -root], dim=1)
        return lam


def linear_field(field: Any) -> Any:
    """The same field with sigma = identity: its Jacobian is the layer's weight operator."""
    if isinstance(field, SecondOrder):
        return SecondOrder(linear_field(field.force))
    twin = copy.copy(field)
    twin.sigma = identity
    return twin


def layer_matvec(field: Any, w: tuple[Tensor, Tensor], y: Tensor, z: Tensor | None) -> MatVec:
    """v -> J v for the Jacobian of the field at the points y (and z): ``[S, *shape]`` each."""
    if not field.partitioned:
        return lambda V: jvp_rows(lambda Y: field(w, Y), y, V)
    n = y[0].numel()

    def matvec(V: Tensor) -> Tensor:
        dy = jvp_rows(lambda Z: field.dy(w, Z), z, V[..., n:])  # d(dy/dt) = (d dy/dz) v_z
        dz = jvp_rows(lambda Y: field.dz(w, Y), y, V[..., :n])  # d(dz/dt) = (d dz/dy) v_y
        return torch.cat([dy, dz], dim=-1)

    return matvec


def layer_eigvals(
    field: Any, w: tuple[Tensor, Tensor], y: Tensor, z: Tensor | None, exact_max: int = 1024,
    arnoldi_steps: int = 40,
) -> Tensor:
    """``[S, M]`` eigenvalues of the field's Jacobian at each of the S points (y[s], z[s]):
    exact (M = m) when m <= ``exact_max``, else ``arnoldi_steps`` Ritz values."""
    m = (2 if field.partitioned else 1) * y[0].numel()
    if m <= exact_max:
        return torch.linalg.eigvals(materialize(layer_matvec(field, w, y, z), len(y), m, y))
    return torch.stack([
        arnoldi_eigvals(
            layer_matvec(field, w, y[s : s + 1], None if z is None else z[s : s + 1]),
            m, y, arnoldi_steps,
        )
        for s in range(len(y))
    ])


def _sample_shape(block: StableBlock, y0: Tensor | None, image_size: int) -> tuple[int, ...]:
    if y0 is not None:
        return tuple(y0.shape[1:])
    if block.operator.kind == "conv":
        return (block.width, image_size, image_size)
    return (block.width,)


def block_spectrum(
    block: StableBlock, y0: Tensor | None = None, *, samples: int = 8, image_size: int = 8,
    exact_max: int = 1024, arnoldi_steps: int = 40,
) -> BlockSpectrum:
    """Eigenvalues of one (float64) block; ``y0``: its input states ``[B, ...]`` or None."""
    shape = _sample_shape(block, y0, image_size)
    partitioned = block.field.partitioned
    m = (2 if partitioned else 1) * int(torch.Size(shape).numel())
    K, b = block.weights()
    opts = {"exact_max": exact_max, "arnoldi_steps": arnoldi_steps}
    with torch.no_grad():
        lin, zero = linear_field(block.field), K.new_zeros(1, *shape)
        weights = torch.stack([
            layer_eigvals(lin, (K[j], b[j]), zero, zero, **opts)[0] for j in range(block.depth)
        ])
        data = None
        if y0 is not None:
            pts = y0[:samples]
            per_layer = []
            for j, state in enumerate(iterate_states(block, pts)):
                if j == block.depth:  # the final state has no layer after it
                    break
                named = named_state(block, state)
                y, z = named["y"], named.get("z")
                per_layer.append(layer_eigvals(block.field, (K[j], b[j]), y, z, **opts))
            data = torch.stack(per_layer)
    return BlockSpectrum(
        weights, data, block.h, block.integrator, block.field.form, m <= exact_max
    )


def spectra(
    model_or_block: nn.Module, x: Tensor | None = None, **kwargs: Any
) -> BlockSpectrum | list[BlockSpectrum]:
    """Per-layer eigenvalues of a block (a :class:`BlockSpectrum`) or of every block of a
    model (a list, one per ``model.blocks``), computed in float64.

    ``x``: optional data (the model's or block's input); the first ``samples`` (default 8)
    rows are followed through the network and the Jacobian eigenvalues of every layer are
    computed at each of their states (all kept: ``data[j, s]``; the margins take the worst).
    Keyword arguments: ``samples``, ``image_size``, ``exact_max``, ``arnoldi_steps``.
    """
    net = analysis_copy(model_or_block)
    blocks = [net] if is_block(net) else list(net.blocks)
    inputs = block_inputs(net, x) if x is not None else [None] * len(blocks)
    result = [block_spectrum(blk, y0, **kwargs) for blk, y0 in zip(blocks, inputs, strict=True)]
    return result[0] if is_block(net) else result
