"""Guards of the hand-written backward passes: is the math they transcribe still the math?

A written VJP (of a layer function, operator or integrator step) is valid only for the
forward methods it was written from. :func:`snapshot` records those methods when the
class is defined; :func:`unchanged` checks, at every call (not cached), that a class still
has them: a subclass that overrides one, or a patch at run time, gets autograd's backward.
"""

from __future__ import annotations


def snapshot(cls: type, names: tuple[str, ...]) -> dict[str, object]:
    """The methods ``names`` of ``cls`` as they are now."""
    return {name: getattr(cls, name) for name in names}


def unchanged(cls: type, methods: dict[str, object]) -> bool:
    """True if ``cls`` still has all of ``methods`` (name -> function); False if empty."""
    if not methods:
        return False
    for name, method in methods.items():
        if getattr(cls, name) is not method:
            return False
    return True
