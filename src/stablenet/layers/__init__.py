"""Layer functions: operators (dense, conv), parametrisations of K, and vector fields."""

from .fields import Gradient, Hamiltonian, Plain, SecondOrder
from .operators import Conv, Dense
from .parametrizations import DEFAULT_GAMMA, Antisymmetric, Free

__all__ = [
    "DEFAULT_GAMMA", "Antisymmetric", "Conv", "Dense", "Free", "Gradient", "Hamiltonian",
    "Plain", "SecondOrder",
]
