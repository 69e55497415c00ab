"""The paper's five architectures, dense and convolutional, as thin named blocks.

Each is a :class:`~stablenet.blocks.StableBlock` with a fixed choice of layer function,
parametrisation and integrator (Haber & Ruthotto 2018, arXiv 1705.03341; Ruthotto & Haber,
JMIV 2020; docs/theory.md 3); ``ARCH_TABLE`` is that table, keyed by the architecture's
name (``arch``, the ``--arch`` of the command line), so a new
combination is a new row (or a direct ``StableBlock(...)`` call), not a new loop.

================  ===========================================  ============  =============
arch              update rule (h = T / N)                      integrator    stable for
================  ===========================================  ============  =============
resnet            y+ = y + h s(K y + b)                        euler         Re l <= 0, small h
antisymmetric     y+ = y + h s(1/2 (K - K^T - g I) y + b)      euler         any K, h small
hamiltonian       z+ = z - h s(K^T y + b); y+ = y + h s(K z+ + b)  verlet    any K, h w <= 2
leapfrog          y+ = 2 y - y- - h^2 K^T s(K y + b)           leapfrog      any K, h w <= 2
parabolic         y+ = y - h K^T s(K y + b)                    euler         any K, h small
================  ===========================================  ============  =============
"""

from __future__ import annotations

from typing import Any

from .activations import ActivationLike
from .blocks import Init, StableBlock
from .checks import choice
from .errors import ConfigError
from .integrators import INTEGRATORS, ForwardEuler, Integrator, Leapfrog, Verlet
from .layers import Antisymmetric, Conv, Dense, Gradient, Hamiltonian, Plain
from .memory import MemorySpec, NotInvertibleError

# arch -> (layer function, integrator, antisymmetric parametrisation?)
ARCH_TABLE: dict[str, tuple[type, type, bool]] = {
    "resnet": (Plain, ForwardEuler, False),
    "antisymmetric": (Plain, ForwardEuler, True),
    "hamiltonian": (Hamiltonian, Verlet, False),
    "leapfrog": (Gradient, Leapfrog, False),
    "parabolic": (Gradient, ForwardEuler, False),
}
#: the architectures' names, in the table's order (``--arch``, ``build_model(arch=...)``)
ARCHITECTURES: tuple[str, ...] = tuple(ARCH_TABLE)
INVERTIBLE_ARCHS = tuple(a for a, (_, integ, _) in ARCH_TABLE.items() if integ.invertible)
"""The architectures whose integrator is exactly invertible: those that run reversibly."""
#: the first-order networks y' = f(y) (forward Euler in ARCH_TABLE) and what they may be
#: integrated with (``integrator=``, ``--integrator``)
FIRST_ORDER_ARCHS = tuple(a for a, (_, integ, _) in ARCH_TABLE.items() if integ is ForwardEuler)
FIRST_ORDER_INTEGRATORS = ("euler", "midpoint")


def integrator_for(arch: str, name: str | None = None) -> Integrator:
    """The integrator of ``arch``: its own (ARCH_TABLE) for ``name=None``, else ``name``.

    The first-order networks (resnet, antisymmetric, parabolic: y' = f(y)) take forward
    Euler or the midpoint rule (``"midpoint"``, :class:`stablenet.integrators.Midpoint`,
    invertible, stable on the imaginary axis: the antisymmetric field without damping);
    the Hamiltonian and leapfrog networks only their own (their fields are of another
    form)."""
    own = ARCH_TABLE[choice("architecture", arch, ARCHITECTURES)][1]
    if name is None or name == own.name:
        return own()
    choice("integrator", name, tuple(INTEGRATORS))
    if own is ForwardEuler and name in FIRST_ORDER_INTEGRATORS:
        return INTEGRATORS[name]()
    raise ConfigError(
        f"the {arch} network integrates with {own.name} only, not {name}; the first-order "
        f"networks ({', '.join(FIRST_ORDER_ARCHS)}) take {' or '.join(FIRST_ORDER_INTEGRATORS)}"
    )


class ArchBlock(StableBlock):
    """A StableBlock built from the row ``ARCH_TABLE[arch]`` (``arch`` set by the subclass).

    ``memory`` (``Store()``, ``Checkpoint(every=k)``, ``Reversible()`` or their names)
    chooses what backward keeps (see :meth:`StableBlock.set_memory`); reversible mode only
    for the architectures in :data:`INVERTIBLE_ARCHS` (hamiltonian, leapfrog) and the
    first-order ones under the midpoint rule. ``integrator`` (a name; None: the
    architecture's own) see :func:`integrator_for`. ``gamma`` is the antisymmetric
    network's damping (None: :func:`~stablenet.layers.default_gamma`, 2 / T, or 0 under the
    midpoint rule); the other architectures ignore it.
    """

    arch = ""
    operator_type: type = Dense

    def __init__(
        self, width: int, depth: int, T: float, activation: ActivationLike = "tanh",
        bias: str = "scalar", init: Init = None, *, gamma: float | None = None,
        memory: MemorySpec = "store", integrator: str | None = None, **operator_kwargs: Any,
    ) -> None:
        field_type, _, antisym = ARCH_TABLE[self.arch]
        operator = self.operator_type(width, **operator_kwargs)
        super().__init__(
            field_type(operator, activation), integrator_for(self.arch, integrator), depth, T,
            parametrization=Antisymmetric(gamma) if antisym else None, bias=bias, init=init,
            memory=memory,
        )

    def set_memory(self, memory: MemorySpec = "store") -> None:
        try:
            super().set_memory(memory)
        except NotInvertibleError as err:  # name the architectures that can run reversibly
            raise NotInvertibleError(
                err.integrator, INVERTIBLE_ARCHS, "The first-order networks ("
                f"{', '.join(FIRST_ORDER_ARCHS)}) run reversibly with integrator='midpoint' "
                "(CLI: --integrator midpoint)"
            ) from None


class ResNet(ArchBlock):
    """Forward Euler ResNet (docs/theory.md 3.1): y_{j+1} = y_j + h sigma(K_j y_j + b_j).

    Stable only if Re(lambda(K_j)) <= 0 and |1 + h lambda| <= 1; may explode or vanish.
    """

    arch = "resnet"


class AntisymmetricResNet(ArchBlock):
    """Antisymmetric ResNet (Haber & Ruthotto 2018, eq. 4.12;
    docs/theory.md 3.2), forward Euler on
    y_{j+1} = y_j + h sigma(1/2 (K_j - K_j^T - gamma I) y_j + b_j).

    The operator's eigenvalues have real part -gamma/2 for any K: no growth, no decay
    beyond the small damping that makes forward Euler stable. ``integrator="midpoint"``
    integrates the same field by y_{j+1} = y_{j-1} + 2 h f_j(y_j) (stable for h |w| < 1
    with gamma = 0, its default there; what ``stablenet train`` uses by default).
    """

    arch = "antisymmetric"


class HamiltonianNet(ArchBlock):
    """Hamiltonian network, Verlet (Haber & Ruthotto 2018; docs/theory.md 3.3), z_0 = 0:
    z_{j+1} = z_j - h sigma(K_j^T y_j + b_j),  y_{j+1} = y_j + h sigma(K_j z_{j+1} + b_j).

    Purely imaginary Jacobian spectrum for any K; exactly invertible. ``forward`` returns
    y_N; ``forward(x, return_state=True)`` also returns ``(z_N, y_N)``.
    """

    arch = "hamiltonian"


class LeapfrogNet(ArchBlock):
    """Second-order network, leapfrog (Haber & Ruthotto 2018; docs/theory.md 3.4), y_{-1} = y_0:
    y_{j+1} = 2 y_j - y_{j-1} - h^2 K_j^T sigma(K_j y_j + b_j).

    The force has a symmetric negative semi-definite Jacobian for any K: the network
    oscillates rather than grows; exactly invertible.
    """

    arch = "leapfrog"


class ParabolicResNet(ArchBlock):
    """Parabolic network (Ruthotto & Haber, JMIV 2020; docs/theory.md 3.5):
    y_{j+1} = y_j - h K_j^T sigma(K_j y_j + b_j).

    Symmetric negative semi-definite Jacobian for any K: stable (smoothing) for small h.
    """

    arch = "parabolic"


class _ConvMixin:
    operator_type = Conv


class ConvResNet(_ConvMixin, ResNet):
    """ResNet with K_j a 3x3 convolution C -> C (zero padding 1); input [B, C, H, W]:
    y_{j+1} = y_j + h sigma(K_j y_j + b_j), b_j per layer or per channel."""


class ConvAntisymmetricResNet(_ConvMixin, AntisymmetricResNet):
    """Antisymmetric ResNet with the operator 1/2 (conv_K - conv_K^T) - gamma/2 I:
    y_{j+1} = y_j + h sigma(1/2 (K_j - K_j^T - gamma I) y_j + b_j), K_j a 3x3 convolution."""


class ConvHamiltonianNet(_ConvMixin, HamiltonianNet):
    """Hamiltonian network with K_j a 3x3 convolution and K_j^T its transposed convolution:
    z_{j+1} = z_j - h sigma(K_j^T y_j + b_j),  y_{j+1} = y_j + h sigma(K_j z_{j+1} + b_j)."""


class ConvLeapfrogNet(_ConvMixin, LeapfrogNet):
    """Leapfrog network with K_j a 3x3 convolution and K_j^T its transposed convolution:
    y_{j+1} = 2 y_j - y_{j-1} - h^2 K_j^T sigma(K_j y_j + b_j)."""


class ConvParabolicResNet(_ConvMixin, ParabolicResNet):
    """Parabolic network with K_j a 3x3 convolution and K_j^T its transposed convolution:
    y_{j+1} = y_j - h K_j^T sigma(K_j y_j + b_j)."""


DENSE_BLOCKS = {
    "resnet": ResNet, "antisymmetric": AntisymmetricResNet, "hamiltonian": HamiltonianNet,
    "leapfrog": LeapfrogNet, "parabolic": ParabolicResNet,
}
CONV_BLOCKS = {
    "resnet": ConvResNet, "antisymmetric": ConvAntisymmetricResNet,
    "hamiltonian": ConvHamiltonianNet, "leapfrog": ConvLeapfrogNet,
    "parabolic": ConvParabolicResNet,
}
