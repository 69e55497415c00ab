"""Stable blocks: a layer function x an integrator x (depth N, h = T / N).

:class:`StableBlock` is the one ``nn.Module`` that runs the loop; the ten named blocks
(five schemes, dense and convolutional) are thin conveniences that choose its arguments.
The weights are stacked in time: ``K: [N, *operator.weight_shape]`` and ``b: [N]``
(``bias="scalar"``, one scalar per layer as in the paper) or ``[N, width]``
(``bias="feature"``).

The memory mode (``memory=Store() | Checkpoint(every=k) | Reversible()``, or the names
``"store"``, ``"checkpoint"``, ``"reversible"``; see :mod:`stablenet.memory`) only changes
what the backward pass keeps, never the values.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

from .checks import choice, positive_int, positive_real
from .errors import ConfigError, ConfigTypeError
from .integrators.base import Integrator, State
from .interfaces import AnyField, Parametrization
from .layers.parametrizations import Free
from .memory import Loop, MemoryMode, MemorySpec, Store, as_memory
from .timegrid import IID, Smooth, get_init

Init = str | Smooth | IID | Callable[[Tensor], Any] | Tensor | None
BIAS_MODES = ("scalar", "feature")
DEFAULT_INIT = "smooth"
"""K(t) = K_0 + 0.1 sum_{k=1,2} K_k cos(k pi t / T) (:class:`stablenet.timegrid.Smooth`)."""


def check_full_state(integrator: Integrator, state: Any) -> None:
    """ConfigTypeError unless ``state`` is a full state of ``integrator`` (a tuple with one
    tensor per ``state_names``), saying why y_N alone cannot be inverted."""
    names = integrator.state_names
    if isinstance(state, (tuple, list)) and len(state) == len(names) and all(
            isinstance(s, Tensor) for s in state):
        return
    got = f"a tensor of shape {tuple(state.shape)}" if isinstance(state, Tensor) else (
        type(state).__name__)
    raise ConfigTypeError(
        f"inverse needs the integrator's full final state ({', '.join(names)}), got {got}. "
        f"y_N alone is not enough: {names[0]} is not determined by it. Take the state "
        "from forward: y, state = block(x, return_state=True); block.inverse(state)")


class StableBlock(nn.Module):
    """Integrate dy/dt = f(K(t), b(t), y) over [0, T] with ``depth`` steps of h = T / depth.

    Layer j = 0 .. N-1 is one step of the integrator with the weights
    w_j = (P(K_j), b_j), P the parametrisation: ``state_{j+1} = integrator.step(field, w_j,
    h, state_j)``, e.g. y_{j+1} = y_j + h f(w_j, y_j) for forward Euler (the rules are in
    the integrators' and the named blocks' docstrings; docs/theory.md 1 and 3).

    Args:
        field: the layer function (``Plain``, ``Gradient``, ``Hamiltonian``) over an operator.
        integrator: ``ForwardEuler``, ``Verlet`` or ``Leapfrog``.
        depth: number of layers N.
        T: final time; the step is h = T / N.
        parametrization: maps the free weights K to the applied operator (``Free``,
            ``Antisymmetric``); applied once per forward to the whole stack. One with a
            ``for_span(T, integrator)`` method is replaced by what that returns
            (``Antisymmetric()``: gamma = 2 / T, or 0 under the midpoint rule).
        bias: ``"scalar"`` (one per layer) or ``"feature"`` (one per feature/channel).
        init: how K(t) is drawn (b = 0 always), sampled at the layer times t_j = j h:
            ``"smooth"`` (the default, ``None``: one random operator for all t plus two
            small low-frequency modes, :class:`stablenet.timegrid.Smooth`), ``"constant"``
            (one random operator for all t), ``"iid"`` (entries drawn independently per
            layer: white noise in t), each with entries of std 1 / sqrt(fan_in); an object
            with ``sample`` (see :mod:`stablenet.timegrid`); a callable applied in place to
            the stacked ``K`` (like ``nn.init`` functions); or a tensor of K's shape.
        memory: what backward keeps (see :meth:`set_memory`): ``Store()`` every state
            (default, fastest), ``Checkpoint(every=k)`` every k-th, ``Reversible()`` only
            the last (Verlet and leapfrog only); or the name of one of them.
    """

    def __init__(
        self, field: AnyField, integrator: Integrator, depth: int, T: float, *,
        parametrization: Parametrization | None = None, bias: str = "scalar", init: Init = None,
        memory: MemorySpec = "store",
    ) -> None:
        super().__init__()
        self.depth = positive_int("depth", depth)
        self.T = positive_real("T (the final time)", T)
        choice("bias mode", bias, BIAS_MODES)
        self.integrator = integrator
        self.field = integrator.adapt(field)
        self.operator = field.operator
        parametrization = parametrization if parametrization is not None else Free()
        for_span = getattr(parametrization, "for_span", None)  # defaults that follow T
        self.parametrization = (for_span(self.T, self.integrator) if for_span is not None
                                else parametrization)
        self.bias_mode = bias
        self.K = nn.Parameter(torch.empty(self.depth, *self.operator.weight_shape))
        self.init: Any = None  # the law of K(t), set by reset_parameters (None: user-given)
        self.b = nn.Parameter(torch.zeros(self.depth, *self.operator.bias_shape(bias)))
        self.reset_parameters(init)
        self.set_memory(memory)

    def set_memory(self, memory: MemorySpec = "store") -> None:
        """Choose what the backward pass keeps; values and gradients do not change.

        * ``Store()``: every state (ordinary autograd), activation memory O(N).
        * ``Checkpoint(every=k)``: every k-th state (``every=None``: k = ceil(sqrt(N))),
          segments recomputed in backward: memory O(N / k + k), one extra forward.
        * ``Reversible(drift_tol=1e-3)``: only the final state; each layer's input is
          reconstructed by the exact inverse step, memory O(1) in N. Needs an invertible
          integrator (Verlet, leapfrog). If the reconstructed initial state is off by more
          than ``drift_tol`` (relative), the backward is redone in float64.

        The names ``"store"``, ``"checkpoint"``, ``"reversible"`` mean the defaults above.
        The block keeps its own copy of the mode (``block.memory``), validated against its
        integrator. Without grad mode, and with ``return_trajectory=True`` (the trajectory
        is itself O(N)), every mode runs the plain loop. Reversible mode computes in the
        input's dtype (at least the weights': under autocast, float32; autocast off).

        Every mode backpropagates with the written discrete adjoint (one autograd node for
        the block, :mod:`stablenet.memory.adjoint`) where it applies: the library's
        fields, operators, integrators and named activations. Autograd records the loop
        instead for a user's activation or field, under ``torch.compile``, ``torch.func``
        and (store, checkpoint) autocast; a double backward (``create_graph=True``)
        differentiates autograd's loop recomputed from the input (memory O(N) for it).
        """
        mode = copy.copy(as_memory(memory))
        mode.validate(self.integrator)
        self.memory: MemoryMode = mode

    @contextmanager
    def using_memory(self, memory: MemorySpec) -> Iterator[MemoryMode]:
        """Run in ``memory`` (validated like :meth:`set_memory`) inside the ``with``, then
        restore the block's own mode, e.g. ``with block.using_memory(Store()): ...``."""
        own = self.memory
        self.set_memory(memory)
        try:
            yield self.memory
        finally:
            self.memory = own

    @property
    def last_drift(self) -> float:
        """The reconstruction drift of the latest reversible backward pass (NaN otherwise)."""
        return getattr(self.memory, "last_drift", math.nan)

    @property
    def h(self) -> float:
        """The step size h = T / depth."""
        return self.T / self.depth

    @property
    def width(self) -> int:
        return self.operator.width

    def reset_parameters(self, init: Init = None) -> None:
        """Draw K (see ``init`` in the class docstring) and set b = 0."""
        init = DEFAULT_INIT if init is None else init
        with torch.no_grad():
            self.b.zero_()
            if isinstance(init, Tensor):
                if init.shape != self.K.shape:
                    raise ConfigError(
                        f"init tensor has shape {tuple(init.shape)}, K needs {tuple(self.K.shape)}"
                    )
                self.K.copy_(init)
                self.init = None
            elif isinstance(init, str) or hasattr(init, "sample"):
                kind = get_init(init)
                std = 1.0 / math.sqrt(self.operator.fan_in)
                self.K.copy_(kind.sample(self.depth, self.T, self.operator.weight_shape, std))
                self.init = kind
            elif callable(init):
                init(self.K)
                self.init = None
            else:
                raise ConfigTypeError(
                    f"init must be None, a name, a callable or a tensor, got {init!r}"
                )

    def weights(self) -> tuple[Tensor, Tensor]:
        """The applied weights (K after the parametrisation, b), stacked ``[N, ...]``."""
        return self.parametrization(self.K, self.operator), self.b

    def forward(
        self, x: Tensor, return_trajectory: bool = False, return_state: bool = False,
    ) -> Any:
        """Propagate ``x`` through all layers.

        Returns y_N; with ``return_trajectory`` all states ``[N + 1, *x.shape]``; with
        ``return_state`` also the integrator's full final state (e.g. ``(z_N, y_N)``).
        The memory mode (:meth:`set_memory`) is chosen here, once per call; a trajectory
        is O(N) anyway, so it always comes from the store loop.
        """
        self.operator.check_input(x)
        integ = self.integrator
        K, b = self.weights()
        trajectory = None
        if return_trajectory or not torch.is_grad_enabled():
            state = integ.init(x)
            trajectory = [integ.output(state)] if return_trajectory else None
            state = self.steps(state, K.unbind(0), b.unbind(0), 0, self.depth, trajectory)
        else:
            state = self.memory.integrate(Loop(integ, self.field, self.h, self.steps), x, K, b)
        out = torch.stack(trajectory) if trajectory is not None else integ.output(state)
        return (out, state) if return_state else out

    def steps(
        self, state: State, Ks: Sequence[Tensor], bs: Sequence[Tensor], start: int, stop: int,
        trajectory: list[Tensor] | None = None,
    ) -> State:
        """The loop: apply layers ``start..stop-1`` (weights ``Ks[j], bs[j]``) to ``state``.

        Appends each new output y_{j+1} to ``trajectory`` if given. Every memory mode runs
        its steps through here.
        """
        integ, field, h = self.integrator, self.field, self.h
        for j in range(start, stop):
            state = integ.step(field, (Ks[j], bs[j]), h, state)
            if trajectory is not None:
                trajectory.append(integ.output(state))
        return state

    def inverse(self, state: State, stop: int = 0) -> State:
        """Run the inverse steps from the final full state back to layer ``stop``.

        ``state`` is the integrator's full state, as ``forward(x, return_state=True)``
        returns it (``(z_N, y_N)`` for Verlet, ``(y_{N-1}, y_N)`` for leapfrog): y_N alone
        does not determine the states before it.
        """
        if not self.integrator.invertible:
            raise ConfigTypeError(f"{self.integrator.name} steps are not invertible; the "
                                  "hamiltonian (Verlet) and leapfrog blocks are")
        check_full_state(self.integrator, state)
        K, b = self.weights()
        for j in range(self.depth - 1, stop - 1, -1):
            state = self.integrator.inverse_step(self.field, (K[j], b[j]), self.h, state)
        return state

    def resized(self, depth: int) -> StableBlock:
        """A copy with ``depth`` layers at the same T (weights freshly initialised)."""
        new = copy.deepcopy(self)
        new.depth = positive_int("depth", depth)
        new.K = nn.Parameter(self.K.new_empty(depth, *self.K.shape[1:]))
        new.b = nn.Parameter(self.b.new_zeros(depth, *self.b.shape[1:]))
        new.reset_parameters(self.init)
        return new

    def extra_repr(self) -> str:
        return (
            f"{self.field!r}, {self.integrator.name}, parametrization={self.parametrization!r}, "
            f"depth={self.depth}, T={self.T:g}, h={self.h:g}, bias={self.bias_mode}"
            + (f", memory={self.memory!r}" if self.memory != Store() else "")
        )

