"""Validation of a block's memory mode: ``memory=``, ``reversible=True`` or ``checkpoint=k``."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError, ConfigTypeError
from ..layers.operators import check_positive_int

MEMORY_MODES = ("store", "checkpoint", "reversible")


def resolve_memory(
    integrator: Any, memory: str = "store", checkpoint: int | None = None,
    reversible: bool = False,
) -> tuple[str, int | None]:
    """The memory mode and checkpoint segment length a block's keywords ask for.

    ``reversible=True`` means ``memory="reversible"``; ``checkpoint=k`` means
    ``memory="checkpoint"`` with segments of k layers (``None``: k = ceil(sqrt(N))).
    Raises ConfigError for unknown or contradictory values and for ``"reversible"``
    with an integrator whose step is not exactly invertible.
    """
    if not isinstance(memory, str) or memory not in MEMORY_MODES:
        raise ConfigError(f"memory must be one of {MEMORY_MODES}, got {memory!r}")
    if not isinstance(reversible, bool):
        raise ConfigTypeError(f"reversible must be True or False, got {reversible!r}")
    if reversible:
        if memory == "checkpoint":
            raise ConfigError("reversible=True contradicts memory='checkpoint'; choose one")
        memory = "reversible"
    if checkpoint is not None:
        check_positive_int("checkpoint (the segment length in layers)", checkpoint)
        if memory == "reversible":
            raise ConfigError(
                "checkpoint=k sets the segment length of memory='checkpoint'; it cannot be "
                "combined with reversible mode, which stores no intermediate states"
            )
        memory = "checkpoint"
    if memory == "reversible" and not integrator.invertible:
        raise ConfigError(_not_invertible(integrator))
    return memory, checkpoint


def _not_invertible(integrator: Any) -> str:
    from ..integrators import INTEGRATORS
    from ..schemes import SCHEMES

    invertible = [name for name, cls in INTEGRATORS.items() if cls.invertible]
    schemes = [s for s, (_, integ, _) in SCHEMES.items() if integ.invertible]
    return (
        f"reversible mode needs an exactly invertible integrator, and {integrator.name} is "
        f"not; the invertible integrators are {invertible} (schemes {schemes} and their "
        "convolutional versions). For a memory-saving mode with any scheme use "
        "checkpoint=k (store every k-th state and recompute the segments)."
    )
