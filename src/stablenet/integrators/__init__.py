"""Integrators: forward Euler, Verlet, leapfrog, midpoint. They know nothing about K."""

from .base import Integrator
from .euler import ForwardEuler
from .leapfrog import Leapfrog
from .midpoint import Midpoint
from .verlet import Verlet

INTEGRATORS = {"euler": ForwardEuler, "verlet": Verlet, "leapfrog": Leapfrog, "midpoint": Midpoint}

__all__ = ["INTEGRATORS", "ForwardEuler", "Integrator", "Leapfrog", "Midpoint", "Verlet"]
