"""The interfaces the parts of stablenet meet at, declared as ``typing.Protocol``s.

Every class of the library satisfies them structurally, and so does any class a user
brings with the same members (no subclassing needed):

* :class:`Operator`: a linear map K_j (dense matrix, convolution) and its adjoint, acting
  on one layer's weight slice; stateless (the block owns the stacked weights).
* :class:`Field` / :class:`PartitionedField`: the layer function f(w, y), or the pair
  dy/dt = dy(w, z), dz/dt = dz(w, y) of a partitioned field, with ``w = (K_j, b_j)``.
* :class:`Parametrization`: how the free weights K map to the applied operator.
* :class:`Integrator`: how the states advance given a field (step, inverse step,
  stability region); knows nothing about K. ``stablenet.integrators.Integrator`` is a
  convenient base class for one.
* :class:`Block`: a stable block's public face (``stablenet.StableBlock``), which the
  analysis, the objective and the optimizers read.
* :class:`StableModel`: a model around blocks (``StableClassifier``, ``StableImageNet``)
  as the trainer, the analysis and the optimizers use it: opening -> blocks (each
  followed by ``connect``) -> ``features`` -> linear ``classifier``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

from torch import Tensor, nn

Weights = tuple[Tensor, Tensor]
State = tuple[Tensor, ...]


@runtime_checkable
class Operator(Protocol):
    """K_j acting on a batch of states; ``width`` is the size of the dimension it acts on."""

    kind: str
    width: int
    weight_shape: tuple[int, ...]
    fan_in: int

    def bias_shape(self, mode: str) -> tuple[int, ...]: ...
    def affine(self, K: Tensor, b: Tensor, y: Tensor) -> Tensor: ...  # K y + b
    def apply(self, K: Tensor, y: Tensor) -> Tensor: ...  # K y
    def adjoint(self, K: Tensor, y: Tensor) -> Tensor: ...  # K^T y
    def adjoint_affine(self, K: Tensor, b: Tensor, y: Tensor) -> Tensor: ...  # K^T y + b
    def transpose(self, K: Tensor) -> Tensor: ...  # the weight of K^T, stacked
    def identity(self, like: Tensor) -> Tensor: ...  # the weight of I
    def check_input(self, y: Tensor) -> None: ...


@runtime_checkable
class Field(Protocol):
    """A first-order layer function f(w, y) over an operator."""

    partitioned: bool  # False
    form: str
    operator: Operator

    def __call__(self, w: Weights, y: Tensor) -> Tensor: ...


@runtime_checkable
class PartitionedField(Protocol):
    """A partitioned field: dy/dt = dy(w, z), dz/dt = dz(w, y)."""

    partitioned: bool  # True
    form: str
    operator: Operator

    def dy(self, w: Weights, z: Tensor) -> Tensor: ...
    def dz(self, w: Weights, y: Tensor) -> Tensor: ...


AnyField = Field | PartitionedField


@runtime_checkable
class LayerGradients(Protocol):
    """Where a written vector-Jacobian product adds one layer's weight gradients."""

    def add(self, scale: float, dK: Tensor, db: Tensor | None) -> None: ...  # += scale (dK, db)
    def add_outer(self, scale: float, AT: Tensor, C: Tensor) -> None: ...  # dK += scale AT C

    # a buffer for u = sigma'(a) g whose sum, times scale, is the db term (summed later
    # with other layers'), with its transpose and whether to accumulate K^T u with one
    # addmm_ (BiasSums.slot), or None: then pass db to add
    def bias_slot(self, like: Tensor, scale: float) -> tuple[Tensor, Tensor, bool] | None: ...


Residuals = Any
"""What one step keeps for its written adjoint (tensors, tuples of them, None)."""


@runtime_checkable
class Parametrization(Protocol):
    """K_applied = P(K), one tensor expression over the stacked dim 0."""

    name: str

    def __call__(self, K: Tensor, operator: Operator) -> Tensor: ...


@runtime_checkable
class Integrator(Protocol):
    """One step of a time integrator on a tuple of states (its layout: ``state_names``)."""

    name: str
    order: int
    invertible: bool
    partitioned: bool
    imaginary_axis: bool
    state_names: tuple[str, ...]

    def adapt(self, field: AnyField) -> AnyField: ...
    def init(self, y0: Tensor) -> State: ...
    def step(self, field: AnyField, w: Weights, h: float, state: State) -> State: ...
    def inverse_step(self, field: AnyField, w: Weights, h: float, state: State) -> State: ...
    def output(self, state: State) -> Tensor: ...
    def stability_margin(self, h_lambda: Tensor) -> Tensor: ...


@runtime_checkable
class Block(Protocol):
    """A stable block: ``depth`` layers of ``integrator`` on ``field`` over [0, T]."""

    K: nn.Parameter  # [depth, *operator.weight_shape], the free weights
    b: nn.Parameter  # [depth] or [depth, width]
    depth: int
    T: float
    field: AnyField
    integrator: Integrator
    operator: Operator
    parametrization: Parametrization

    @property
    def h(self) -> float: ...
    @property
    def width(self) -> int: ...
    def weights(self) -> Weights: ...  # the applied (K, b), stacked
    def __call__(self, x: Tensor, return_trajectory: bool = False,
                 return_state: bool = False) -> Any: ...


@runtime_checkable
class StableModel(Protocol):
    """A classifier around stable blocks, as the trainer, analysis and optimizers see it.

    ``features(x)`` = ``embed(x)`` (the opening after ``preprocess``), then each block i
    followed by ``connect(i, .)`` (the connector and pooling between image stages; the
    identity after the last block and in dense models), then the final pooling;
    ``model(x) = classifier(features(x))``; ``config`` are the keyword arguments of
    :func:`stablenet.build_model` that rebuild it. Besides these, the library uses the
    ordinary ``nn.Module`` methods listed below.
    """

    preprocess: nn.Module  # input standardisation, or the identity
    opening: nn.Module
    blocks: Sequence[Block]  # an nn.ModuleList
    connectors: Sequence[nn.Module]  # an nn.ModuleList (empty for dense models)
    classifier: nn.Linear
    config: dict[str, Any]
    training: bool

    def embed(self, x: Tensor) -> Tensor: ...  # opening(preprocess(x))
    def features(self, x: Tensor) -> Tensor: ...
    def connect(self, i: int, y: Tensor) -> Tensor: ...
    def __call__(self, x: Tensor) -> Tensor: ...
    def parameters(self, recurse: bool = True) -> Iterator[nn.Parameter]: ...
    def named_parameters(self, *args: Any, **kwargs: Any) -> Iterator[tuple[str, nn.Parameter]]: ...
    def buffers(self, recurse: bool = True) -> Iterator[Tensor]: ...
    def modules(self) -> Iterator[nn.Module]: ...
    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]: ...
    def load_state_dict(self, state_dict: Any, strict: bool = True) -> Any: ...
    def train(self, mode: bool = True) -> Any: ...
    def eval(self) -> Any: ...
    def to(self, *args: Any, **kwargs: Any) -> Any: ...
