"""Checks of the values a user gives: one implementation for the whole library.

Each check returns the value (as ``int`` or ``float``) or raises
:class:`~stablenet.errors.ConfigTypeError` for the wrong type and
:class:`~stablenet.errors.ConfigError` for a value out of range. The message starts with
the ``name`` it is given, which is how the user wrote the value: ``"depth"`` for a
library argument, ``"--depth"`` for a command-line flag (a parenthesis may say what it is,
``"--T (the final time)"``). A value is checked once, where it enters: by the class or
function that receives it from the user (``StableBlock(depth=...)``), or, for the command
line and :class:`~stablenet.train.TrainConfig`, by :func:`stablenet.train.check`.

``bool`` is refused wherever a number is expected (``True`` is an ``int`` to Python).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import TypeVar

from .errors import ConfigError, ConfigTypeError

T = TypeVar("T")


def integer(name: str, value: object, minimum: int | None = None,
            maximum: int | None = None) -> int:
    """``value`` if it is an int (not a bool), at least ``minimum`` and at most ``maximum``
    (when given)."""
    if isinstance(value, bool) or not isinstance(value, int):
        kind = {None: "an integer", 1: "a positive integer"}.get(minimum,
                                                                   f"an integer >= {minimum}")
        raise ConfigTypeError(f"{name} must be {kind}, got {value!r}")
    if minimum is not None and value < minimum:
        bound = "positive" if minimum == 1 else f">= {minimum}"
        raise ConfigError(f"{name} must be {bound}, got {shown(value)}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, got {shown(value)}")
    return int(value)


def shown(value: int) -> str:
    """``str(value)``, or its number of digits for an int too long to print."""
    try:
        return str(value)
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        return f"an integer of about {int(value.bit_length() * 0.30103)} digits"


def at_most(name: str, value: float, maximum: float, why: str = "") -> float:
    """``value`` if it is at most ``maximum``; ``why`` says where the bound comes from."""
    if value > maximum:
        raise ConfigError(f"{name} must be at most {maximum:.3g}{why}, got {value:.3g}")
    return value


def positive_int(name: str, value: object) -> int:
    """``value`` if it is an int >= 1."""
    return integer(name, value, 1)


def nonnegative_int(name: str, value: object) -> int:
    """``value`` if it is an int >= 0."""
    return integer(name, value, 0)


def real(name: str, value: object, *, positive: bool = False,
         nonnegative: bool = False) -> float:
    """``value`` as a float if it is a finite real number (int or float, not a bool);
    with ``positive`` also > 0, with ``nonnegative`` also >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigTypeError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be finite, got {value}")
    if positive and value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    if nonnegative and value < 0:
        raise ConfigError(f"{name} must be >= 0, got {value}")
    return float(value)


def positive_real(name: str, value: object) -> float:
    """``value`` as a float if it is finite and > 0."""
    return real(name, value, positive=True)


def nonnegative_real(name: str, value: object) -> float:
    """``value`` as a float if it is finite and >= 0."""
    return real(name, value, nonnegative=True)


def choice(what: str, value: T, choices: Collection[object], flag: str | None = None) -> T:
    """``value`` if it is one of ``choices``; ``what`` names the kind of value
    (``"architecture"``) and ``flag`` the option it came from (``"--arch"``), if any."""
    try:
        known = value in choices
    except TypeError:  # an unhashable value asked of a set or dict
        known = False
    if not known:
        where = f" for {flag}" if flag else ""
        raise ConfigError(f"unknown {what} {value!r}{where}; choose one of {list(choices)}")
    return value
