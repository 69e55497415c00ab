"""Layer functions: operators (dense, conv), parametrisations of K, and vector fields."""

from .fields import Gradient, Hamiltonian, Plain, SecondOrder
from .operators import Conv, Dense
from .parametrizations import PAPER_GAMMA, Antisymmetric, Free, default_gamma

__all__ = [
    "PAPER_GAMMA", "Antisymmetric", "Conv", "Dense", "Free", "Gradient", "Hamiltonian",
    "Plain", "SecondOrder", "default_gamma",
]
