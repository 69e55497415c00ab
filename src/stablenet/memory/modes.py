"""The memory mode of a block: one object that says what backward keeps and runs the loop.

* :class:`Store` (default): ordinary autograd keeps every layer's state, memory O(N).
* :class:`Checkpoint` ``(every=k)``: keep every k-th state and recompute each segment of k
  layers in backward, memory O(N / k + k) (``every=None``: k = ceil(sqrt N)); any integrator.
* :class:`Reversible` ``(drift_tol=1e-3)``: keep only the final state and rebuild each layer's
  input by the integrator's exact inverse step, memory O(1) in N; invertible integrators
  (Verlet, leapfrog) only.

A block owns its mode (``block.memory``, see :meth:`StableBlock.set_memory`); the mode
checks itself against the block's integrator (:meth:`MemoryMode.validate`) and integrates
the block's :class:`Loop` (:meth:`MemoryMode.integrate`). :func:`as_memory` also takes the
names ``"store"``, ``"checkpoint"``, ``"reversible"`` (the default object of each) and the
readable config form :meth:`MemoryMode.to_config` that ``model.pt`` records, e.g.
``{"mode": "checkpoint", "every": 4}``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor

from ..checks import nonnegative_real, positive_int
from ..errors import ConfigError, ConfigTypeError
from ..integrators import INTEGRATORS
from ..integrators.base import State
from .adjoint import CheckpointSweep, DiscreteAdjoint, StoreSweep, hand_written
from .checkpointing import checkpointed_steps, segment_length
from .drift import DRIFT_TOL, DriftRecord
from .loop import Loop
from .reversible import reversible_integrate
from .reversible_adjoint import reversible_adjoint


class NotInvertibleError(ConfigError):
    """Reversible mode asked of an integrator whose step has no exact inverse.

    ``schemes`` (the named schemes whose integrator is invertible) is filled in by the
    layer that knows them (``stablenet.schemes``), so the message can list them.
    """

    def __init__(self, integrator: str, schemes: Sequence[str] = (), hint: str = "") -> None:
        super().__init__(integrator, tuple(schemes), hint)
        self.integrator, self.schemes, self.hint = integrator, tuple(schemes), hint

    def __str__(self) -> str:
        invertible = [name for name, cls in INTEGRATORS.items() if cls.invertible]
        named = (f" (architectures {list(self.schemes)} and their convolutional versions)"
                 if self.schemes else "")
        return (
            f"reversible mode needs an exactly invertible integrator, and {self.integrator} "
            f"is not; the invertible integrators are {invertible}{named}. "
            + (f"{self.hint}. " if self.hint else "") + "For a "
            "memory-saving mode with any scheme use memory=Checkpoint(k) (CLI: --checkpoint K; "
            "store every k-th state and recompute the segments)."
        )


class MemoryMode:
    """Base class: a mode is a small immutable description plus its way of integrating."""

    name: ClassVar[str] = ""

    def validate(self, integrator: Any) -> None:
        """Raise ConfigError if this mode cannot run with ``integrator``."""

    def integrate(self, loop: Loop, x: Tensor, K: Tensor, b: Tensor) -> State:
        """The final full state of ``loop`` from ``x`` with weight stacks ``K: [N, ...]``, ``b``."""
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        return {}

    def to_config(self) -> dict[str, Any]:
        """The readable, JSON- and ``torch.load(weights_only=True)``-safe form of the mode."""
        return {"mode": self.name, **self.params()}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MemoryMode) and self.to_config() == other.to_config()

    def __hash__(self) -> int:
        return hash(tuple(self.to_config().items()))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"


class Store(MemoryMode):
    """Keep every layer's residuals (memory O(N), fastest): the written adjoint where it
    applies (:func:`~stablenet.memory.adjoint.hand_written`), else autograd's loop."""

    name = "store"

    def integrate(self, loop: Loop, x: Tensor, K: Tensor, b: Tensor) -> State:
        if hand_written(loop, x):
            return DiscreteAdjoint.apply(loop, StoreSweep(), x, K, b)
        return loop.steps(loop.integrator.init(x), K.unbind(0), b.unbind(0), 0, K.shape[0])


class Checkpoint(MemoryMode):
    """Keep every ``every``-th state, recompute the segments in backward (any integrator).

    ``every=None`` means k = ceil(sqrt N); a k larger than the depth means one segment.
    """

    name = "checkpoint"

    def __init__(self, every: int | None = None) -> None:
        if every is not None:
            positive_int("the checkpoint segment length (every=k layers)", every)
        self.every = every

    def params(self) -> dict[str, Any]:
        return {"every": self.every}

    def integrate(self, loop: Loop, x: Tensor, K: Tensor, b: Tensor) -> State:
        k = segment_length(K.shape[0], self.every)
        if hand_written(loop, x):
            return DiscreteAdjoint.apply(loop, CheckpointSweep(k), x, K, b)
        return checkpointed_steps(loop.steps, loop.integrator.init(x), K.unbind(0),
                                  b.unbind(0), K.shape[0], k)


class Reversible(MemoryMode):
    """Keep only the final state; rebuild each layer's input by the exact inverse step.

    If the rebuilt initial state is off by more than ``drift_tol`` (relative), the backward
    pass is redone in float64 (see :mod:`stablenet.memory.reversible`). ``last_drift`` is the
    drift of the latest backward pass through this mode (NaN before the first).
    """

    name = "reversible"

    def __init__(self, drift_tol: float = DRIFT_TOL) -> None:
        self.drift_tol = math.inf if drift_tol == math.inf else nonnegative_real(
            "Reversible(drift_tol=...) (a number >= 0, or inf)", drift_tol)
        self.record = DriftRecord()

    def params(self) -> dict[str, Any]:
        return {"drift_tol": self.drift_tol}

    @property
    def last_drift(self) -> float:
        return self.record.drift

    def validate(self, integrator: Any) -> None:
        if not integrator.invertible:
            raise NotInvertibleError(integrator.name)

    def integrate(self, loop: Loop, x: Tensor, K: Tensor, b: Tensor) -> State:
        # under autocast the input may be bf16 / fp16: rebuild in the weights' dtype at least
        # (a half-precision reconstruction would drift past drift_tol at once)
        x = x.to(torch.promote_types(x.dtype, K.dtype))
        run = reversible_adjoint if hand_written(loop, x, autocast_ok=True) else (
            reversible_integrate)
        state, self.record = run(loop, x, K, b, self.drift_tol)
        return state

    def __copy__(self) -> Reversible:
        return Reversible(self.drift_tol)  # a fresh drift record: copies never share one

    def __deepcopy__(self, memo: dict) -> Reversible:
        return self.__copy__()


MODES: dict[str, type[MemoryMode]] = {"store": Store, "checkpoint": Checkpoint,
                                      "reversible": Reversible}
MemorySpec = MemoryMode | str | Mapping[str, Any]


def as_memory(spec: MemorySpec) -> MemoryMode:
    """The mode ``spec`` names: a :class:`MemoryMode`, a name in :data:`MODES` (the mode's
    defaults) or a config ``{"mode": name, **params}`` as :meth:`MemoryMode.to_config` writes."""
    if isinstance(spec, MemoryMode):
        return spec
    if isinstance(spec, str) and spec in MODES:
        return MODES[spec]()
    if isinstance(spec, Mapping) and spec.get("mode") in MODES:
        params = {k: v for k, v in spec.items() if k != "mode"}
        try:
            return MODES[spec["mode"]](**params)
        except TypeError:
            raise ConfigError(f"memory config {dict(spec)!r} has unknown keys; "
                              f"{MODES[spec['mode']]().to_config()} is an example") from None
    kind = ConfigError if isinstance(spec, (str, Mapping)) else ConfigTypeError
    raise kind(
        "memory must be Store(), Checkpoint(every=k), Reversible(drift_tol=...) (from "
        f"stablenet.memory) or one of the names {list(MODES)}, got {spec!r}"
    )


def from_legacy(memory: Any, checkpoint: int | None = None) -> MemoryMode:
    """The mode of a config written before the mode objects: ``memory`` was a name and
    ``checkpoint`` the segment length of checkpoint mode (``None``: ceil(sqrt N))."""
    if checkpoint is not None or memory == "checkpoint":
        return Checkpoint(checkpoint)
    return as_memory(memory)
