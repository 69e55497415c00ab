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
``dy(w, z)`` and ``dz(w, y)``. The integrators only ever need ``base + alpha f(w, y)``:
:func:`add_scaled` (and :func:`add_scaled_dy`, :func:`add_scaled_dz`) compute it with the
fewest kernels the field allows (``torch.add(base, f, alpha=alpha)``: no separate scaling
or negation kernels), and fall back to the plain call for any other callable.

Hand-written backward passes (:mod:`stablenet.memory.adjoint`): each ``add_scaled*`` has a
``*_res`` twin that also returns the residuals its VJP needs (the input and s = sigma(a)),
and ``vjp_scaled*(base, alpha, w, res, g, grads)`` returns base + alpha J_y^T g and adds
alpha J_w^T g to the layer's weight gradients ``grads`` (``grads.add(scale, dK, db)``; a
dense layer writes u = sigma'(a) g into a buffer ``grads.bias_slot`` lends instead, whose
sum the sweep takes with other layers' in one kernel, and adds dK as
``grads.add_outer(scale, A^T, C)``: one addmm_).
``field.has_vjp`` says whether they apply: a named activation (tanh, relu, identity), a
Dense or Conv operator, and no forward method overridden by a subclass.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from ..activations import (
    ACTIVATIONS_INPLACE,
    ActivationLike,
    activation_name,
    activation_vjp,
    activation_vjp_into,
    get_activation,
)
from ..interfaces import Field, LayerGradients, Operator, PartitionedField, Weights
from .operators import Conv, Dense
from .operators import has_vjp as operator_has_vjp
from .transcribed import snapshot, unchanged

Residual = tuple[Tensor, Tensor]  # (input of the affine map, s = sigma(a))


class _Field:
    partitioned = False
    form = ""

    def __init__(self, operator: Operator, activation: ActivationLike = "tanh") -> None:
        self.operator = operator
        self.activation_spec = activation
        self.sigma = get_activation(activation)

    @property
    def sigma(self) -> Callable[[Tensor], Tensor]:
        """The activation; setting it also sets :attr:`sigma_vjp` (None for a callable
        without a written VJP) and the in-place variant :meth:`sigma_fresh` returns."""
        return self._sigma

    @sigma.setter
    def sigma(self, value: Callable[[Tensor], Tensor]) -> None:
        self._sigma = value
        self.sigma_vjp = activation_vjp(value)
        fresh = type(self.operator) in (Dense, Conv)  # their outputs are new tensors
        self._fresh = ACTIVATIONS_INPLACE.get(value, value) if fresh else value
        # a dense VJP may write u into a buffer whose sum the sweep takes later (db);
        # convolutions get db from the same kernel as the other two terms
        self._into = activation_vjp_into(value) if isinstance(self.operator, Dense) else None

    _VJP_OF: tuple[str, ...] = ()  # the methods the hand-written VJP differentiates
    _transcribed: dict[str, object] = {}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "_VJP_OF" in vars(cls):
            cls._transcribed = snapshot(cls, cls._VJP_OF)

    @property
    def has_vjp(self) -> bool:
        return (self.sigma_vjp is not None and operator_has_vjp(self.operator)
                and unchanged(type(self), self._transcribed))

    def sigma_fresh(self) -> Callable[[Tensor], Tensor]:
        """sigma for the fresh output of the library's own operators: in place where it can
        be (one buffer less per evaluation); for any other operator sigma itself. Chosen
        when sigma is set (a lookup per layer is a few percent of a small layer's step)."""
        return self._fresh

    def _affine_vjp(self, base: Tensor, alpha: float, w: Weights, y: Tensor, s: Tensor,
                    g: Tensor, grads: LayerGradients, slot, adjoint: bool = False) -> Tensor:
        """For a = K y + b (``adjoint``: K^T y + b), s = sigma(a), the cotangent g of s and
        u = sigma'(a) g: returns base + alpha K^T u (K u) in place, and adds alpha (W(u, y)
        (W(y, u)), sum u) to ``grads``.

        With a ``slot`` (``grads.bias_slot(s, alpha)``, asked for only with a dense operator
        and an activation of ``ACTIVATION_VJPS_INTO``: ``self._into``) u is written there,
        and its sum times alpha is the db term (taken later with other layers'); s is kept,
        W goes into the layer's dK with one addmm_ (``grads.add_outer``). Without one u is
        written into s."""
        (K, b), op = w, self.operator
        if slot is None:
            u = self.sigma_vjp(g, s)
            gy, gK, gb = (op.adjoint_affine_vjp if adjoint else op.affine_vjp)(K, b, y, u)
            grads.add(alpha, gK, gb)
            return base.add_(gy, alpha=alpha)
        # a slot is lent to dense operators only; base += alpha u K (u K^T): one addmm_
        # where BLAS has a fast path for it (``fused_rows``), else mm then add_
        u, uT, fused = slot
        self._into(g, s, grad_input=u)
        if adjoint:
            grads.add_outer(alpha, y.T, u)
            if fused:
                return base.addmm_(u, K.T, alpha=alpha)
            return base.add_(F.linear(u, K), alpha=alpha)
        grads.add_outer(alpha, uT, y)
        if fused:
            return base.addmm_(u, K, alpha=alpha)
        return base.add_(torch.mm(u, K), alpha=alpha)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.operator!r}, {activation_name(self.activation_spec)})"


def add_scaled(field: Field, base: Tensor, alpha: float, w: Weights, y: Tensor) -> Tensor:
    """base + alpha f(w, y), fused where the field knows how."""
    fused = getattr(field, "add_scaled", None)
    if fused is not None:
        return fused(base, alpha, w, y)
    return torch.add(base, field(w, y), alpha=alpha)


def add_scaled_dy(field: PartitionedField, base: Tensor, alpha: float, w: Weights,
                  z: Tensor) -> Tensor:
    """base + alpha dy(w, z) of a partitioned field."""
    fused = getattr(field, "add_scaled_dy", None)
    if fused is not None:
        return fused(base, alpha, w, z)
    return torch.add(base, field.dy(w, z), alpha=alpha)


def add_scaled_dz(field: PartitionedField, base: Tensor, alpha: float, w: Weights,
                  y: Tensor) -> Tensor:
    """base + alpha dz(w, y) of a partitioned field."""
    fused = getattr(field, "add_scaled_dz", None)
    if fused is not None:
        return fused(base, alpha, w, y)
    return torch.add(base, field.dz(w, y), alpha=alpha)


class Plain(_Field):
    """The plain layer function (ResNet, antisymmetric network; docs/theory.md 3.1-3.2)::

        f(w, y) = sigma(K y + b),   w = (K, b)

    K is the operator after the parametrisation (for the antisymmetric network
    1/2 (K - K^T - gamma I)). Forward Euler turns it into y+ = y + h sigma(K y + b).
    """

    form = "plain"
    _VJP_OF = ("__call__", "add_scaled", "add_scaled_res", "vjp_scaled")

    def __call__(self, w: Weights, y: Tensor) -> Tensor:
        K, b = w
        return self.sigma(self.operator.affine(K, b, y))

    def add_scaled(self, base: Tensor, alpha: float, w: Weights, y: Tensor) -> Tensor:
        """base + alpha sigma(K y + b)."""
        return self.add_scaled_res(base, alpha, w, y)[0]

    def add_scaled_res(self, base: Tensor, alpha: float, w: Weights, y: Tensor):
        K, b = w
        s = self._fresh(self.operator.affine(K, b, y))
        return torch.add(base, s, alpha=alpha), (y, s)

    def vjp_scaled(self, base: Tensor, alpha: float, w: Weights, res: Residual, g: Tensor,
                   grads: LayerGradients) -> Tensor:
        """base + alpha K^T u with u = sigma'(a) g; dK += alpha u y^T, db += alpha sum u."""
        y, s = res
        slot = None if self._into is None else grads.bias_slot(s, alpha)
        return self._affine_vjp(base, alpha, w, y, s, g, grads, slot)


class Gradient(_Field):
    """The gradient layer function (parabolic network, leapfrog force; docs/theory.md 3.4-3.5)::

        f(w, y) = -K^T sigma(K y + b)

    Its Jacobian -K^T diag(sigma'(K y + b)) K is symmetric negative semi-definite for any
    K. Forward Euler: y+ = y - h K^T sigma(K y + b); leapfrog: y+ = 2 y - y- - h^2 K^T
    sigma(K y + b).
    """

    form = "gradient"
    _VJP_OF = ("__call__", "add_scaled", "add_scaled_res", "vjp_scaled")

    def __call__(self, w: Weights, y: Tensor) -> Tensor:
        K, b = w
        return -self.operator.adjoint(K, self.sigma(self.operator.affine(K, b, y)))

    def add_scaled(self, base: Tensor, alpha: float, w: Weights, y: Tensor) -> Tensor:
        """base - alpha K^T sigma(K y + b), without the negation and the scaling kernels.

        Not ``addmm(base, ., ., alpha=-alpha)``: CPU BLAS accumulates the small products
        into ``base`` one by one, which doubles the float32 rounding error of the states.
        """
        return self.add_scaled_res(base, alpha, w, y)[0]

    def add_scaled_res(self, base: Tensor, alpha: float, w: Weights, y: Tensor):
        K, b = w
        s = self._fresh(self.operator.affine(K, b, y))
        return torch.add(base, self.operator.adjoint(K, s), alpha=-alpha), (y, s)

    def vjp_scaled(self, base: Tensor, alpha: float, w: Weights, res: Residual, g: Tensor,
                   grads: LayerGradients) -> Tensor:
        """base - alpha K^T u with u = sigma'(a) K g (J = -K^T diag(sigma') K is symmetric);
        dK -= alpha (u y^T + s g^T), db -= alpha sum u."""
        K, y, s = w[0], *res
        slot = None if self._into is None else grads.bias_slot(s, -alpha)
        if slot is None:  # W(s, g) before u overwrites s
            Kg, gK_outer = self.operator.adjoint_vjp(K, s, g)
            grads.add(-alpha, gK_outer, None)
        else:  # s is kept; W(s, g) first (base may be g itself)
            Kg = self.operator.apply(K, g)
            grads.add_outer(-alpha, s.T, g)
        return self._affine_vjp(base, -alpha, w, y, s, Kg, grads, slot)


class Hamiltonian(_Field):
    """The Hamiltonian pair, a partitioned field of (y, z) (docs/theory.md 3.3)::

        dy/dt = dy(w, z) = sigma(K z + b),   dz/dt = dz(w, y) = -sigma(K^T y + b)

    Its Jacobian [[0, diag(sigma') K], [-diag(sigma') K^T, 0]] has a purely imaginary
    spectrum for any K when sigma' is the same in both parts. Verlet:
    z+ = z - h sigma(K^T y + b), y+ = y + h sigma(K z+ + b).
    """

    form = "hamiltonian"
    partitioned = True
    _VJP_OF = ("dy", "dz", "add_scaled_dy", "add_scaled_dz", "add_scaled_dy_res",
               "add_scaled_dz_res", "vjp_scaled_dy", "vjp_scaled_dz")

    def dy(self, w: Weights, z: Tensor) -> Tensor:
        K, b = w
        return self.sigma(self.operator.affine(K, b, z))

    def dz(self, w: Weights, y: Tensor) -> Tensor:
        K, b = w
        return -self.sigma(self.operator.adjoint_affine(K, b, y))

    def add_scaled_dy(self, base: Tensor, alpha: float, w: Weights, z: Tensor) -> Tensor:
        """base + alpha sigma(K z + b)."""
        return self.add_scaled_dy_res(base, alpha, w, z)[0]

    def add_scaled_dz(self, base: Tensor, alpha: float, w: Weights, y: Tensor) -> Tensor:
        """base - alpha sigma(K^T y + b) (no negation)."""
        return self.add_scaled_dz_res(base, alpha, w, y)[0]

    def add_scaled_dy_res(self, base: Tensor, alpha: float, w: Weights, z: Tensor):
        K, b = w
        s = self._fresh(self.operator.affine(K, b, z))
        return torch.add(base, s, alpha=alpha), (z, s)

    def add_scaled_dz_res(self, base: Tensor, alpha: float, w: Weights, y: Tensor):
        K, b = w
        s = self._fresh(self.operator.adjoint_affine(K, b, y))
        return torch.add(base, s, alpha=-alpha), (y, s)

    def vjp_scaled_dy(self, base: Tensor, alpha: float, w: Weights, res: Residual,
                      g: Tensor, grads: LayerGradients) -> Tensor:
        """base + alpha K^T u, u = sigma'(K z + b) g; dK += alpha u z^T, db += alpha sum u."""
        z, s = res
        slot = None if self._into is None else grads.bias_slot(s, alpha)
        return self._affine_vjp(base, alpha, w, z, s, g, grads, slot)

    def vjp_scaled_dz(self, base: Tensor, alpha: float, w: Weights, res: Residual,
                      g: Tensor, grads: LayerGradients) -> Tensor:
        """base - alpha K u, u = sigma'(K^T y + b) g; dK -= alpha y u^T, db -= alpha sum u."""
        y, s = res
        slot = None if self._into is None else grads.bias_slot(s, -alpha)
        return self._affine_vjp(base, -alpha, w, y, s, g, grads, slot, adjoint=True)


class SecondOrder:
    """y'' = F(y) as a partitioned first-order system (for Verlet)::

        dy/dt = dy(w, z) = z,   dz/dt = dz(w, y) = F(w, y)

    so that Verlet steps z+ = z + h F(y), y+ = y + h z+.
    """

    partitioned = True

    def __init__(self, force: Field) -> None:
        self.force = force
        self.operator = force.operator
        self.form = f"second_order({force.form})"

    def dy(self, w: Weights, z: Tensor) -> Tensor:
        return z

    def dz(self, w: Weights, y: Tensor) -> Tensor:
        return self.force(w, y)

    def add_scaled_dy(self, base: Tensor, alpha: float, w: Weights, z: Tensor) -> Tensor:
        return torch.add(base, z, alpha=alpha)

    def add_scaled_dz(self, base: Tensor, alpha: float, w: Weights, y: Tensor) -> Tensor:
        return add_scaled(self.force, base, alpha, w, y)

    @property
    def has_vjp(self) -> bool:
        return getattr(self.force, "has_vjp", False) and unchanged(type(self), _SECOND_ORDER)

    def add_scaled_dy_res(self, base: Tensor, alpha: float, w: Weights, z: Tensor):
        return torch.add(base, z, alpha=alpha), None

    def add_scaled_dz_res(self, base: Tensor, alpha: float, w: Weights, y: Tensor):
        return self.force.add_scaled_res(base, alpha, w, y)

    def vjp_scaled_dy(self, base: Tensor, alpha: float, w: Weights, res: None, g: Tensor,
                      grads: LayerGradients) -> Tensor:
        return base.add_(g, alpha=alpha)  # dy = z: J = I, no weights

    def vjp_scaled_dz(self, base: Tensor, alpha: float, w: Weights, res: Residual,
                      g: Tensor, grads: LayerGradients) -> Tensor:
        return self.force.vjp_scaled(base, alpha, w, res, g, grads)

    def __repr__(self) -> str:
        return f"SecondOrder({self.force!r})"


_SECOND_ORDER = snapshot(SecondOrder, (
    "dy", "dz", "add_scaled_dy", "add_scaled_dz", "add_scaled_dy_res", "add_scaled_dz_res",
    "vjp_scaled_dy", "vjp_scaled_dz"))
