"""Layer functions: operators (dense, conv), parametrisations of K, and vector fields."""

from .fields import FIELDS, Gradient, Hamiltonian, Plain, SecondOrder
from .operators import OPERATORS, Conv, Dense
from .parametrizations import DEFAULT_GAMMA, Antisymmetric, Free

__all__ = [
    "DEFAULT_GAMMA", "Antisymmetric", "Conv", "Dense", "FIELDS", "Free", "Gradient", "Hamiltonian",
    "OPERATORS", "Plain", "SecondOrder",
]
