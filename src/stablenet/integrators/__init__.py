"""Integrators: forward Euler, Verlet, leapfrog. They know nothing about K."""

from .base import Integrator
from .euler import ForwardEuler
from .leapfrog import Leapfrog
from .verlet import Verlet

INTEGRATORS = {"euler": ForwardEuler, "verlet": Verlet, "leapfrog": Leapfrog}

__all__ = ["INTEGRATORS", "ForwardEuler", "Integrator", "Leapfrog", "Verlet"]
