"""Layer functions (the vector fields f_j of the ODE), independent of the integrator.

Each takes the layer's weights ``w = (K_j, b_j)`` (after the parametrisation) and a state:

* :class:`Plain`:        f(w, y) = sigma(K y + b)               (ResNet, antisymmetric)
* :class:`Gradient`:     f(w, y) = -K^T sigma(K y + b)          (parabolic, leapfrog force)
  Its Jacobian -K^T diag(sigma') K is symmetric negative semi-definite for ANY K.
* :class:`Hamiltonian`:  a partitioned field for the pair (y, z):
  dy/dt = sigma(K z + b),  dz/dt = -sigma(K^T y + b); its Jacobian has a purely
  imaginary spectrum for ANY K (when sigma' is the same in both parts).
* :class:`SecondOrder`:  turns a force F into the partitioned field of y'' = F(y):
  dy/dt = z, dz/dt = F(y), so Verlet can integrate any second-order field.

First-order fields are callables ``field(w, y)``; partitioned fields expose
``dy(w, z)`` and ``dz(w, y)``.
"""

from __future__ import annotations

from torch import Tensor

from ..activations import ActivationLike, activation_name, get_activation

Weights = tuple[Tensor, Tensor]


class _Field:
    partitioned = False
    form = ""

    def __init__(self, operator, activation: ActivationLike = "tanh") -> None:
        self.operator = operator
        self.activation_spec = activation
        self.sigma = get_activation(activation)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.operator!r}, {activation_name(self.activation_spec)})"


class Plain(_Field):
    """f(w, y) = sigma(K y + b)."""

    form = "plain"

    def __call__(self, w: Weights, y: Tensor) -> Tensor:
        K, b = w
        return self.sigma(self.operator.affine(K, b, y))


class Gradient(_Field):
    """f(w, y) = -K^T sigma(K y + b): symmetric negative semi-definite Jacobian."""

    form = "gradient"

    def __call__(self, w: Weights, y: Tensor) -> Tensor:
        K, b = w
        return -self.operator.adjoint(K, self.sigma(self.operator.affine(K, b, y)))


class Hamiltonian(_Field):
    """dy/dt = sigma(K z + b), dz/dt = -sigma(K^T y + b)."""

    form = "hamiltonian"
    partitioned = True

    def dy(self, w: Weights, z: Tensor) -> Tensor:
        K, b = w
        return self.sigma(self.operator.affine(K, b, z))

    def dz(self, w: Weights, y: Tensor) -> Tensor:
        K, b = w
        return -self.sigma(self.operator.adjoint_affine(K, b, y))


class SecondOrder:
    """y'' = F(y) as a partitioned first-order system: dy/dt = z, dz/dt = F(y)."""

    partitioned = True

    def __init__(self, force) -> None:
        self.force = force
        self.operator = force.operator
        self.form = f"second_order({force.form})"

    def dy(self, w: Weights, z: Tensor) -> Tensor:
        return z

    def dz(self, w: Weights, y: Tensor) -> Tensor:
        return self.force(w, y)

    def __repr__(self) -> str:
        return f"SecondOrder({self.force!r})"


FIELDS = {"plain": Plain, "gradient": Gradient, "hamiltonian": Hamiltonian}
