"""help() on an integrator, a layer function or a block shows its update rule: each class
states it in its own docstring (not inherited, not only in the module docstring)."""

import inspect

import pytest

import stablenet
from stablenet import integrators, schemes
from stablenet.layers import fields

CLASSES = [
    integrators.ForwardEuler, integrators.Verlet, integrators.Leapfrog,
    fields.Plain, fields.Gradient, fields.Hamiltonian, fields.SecondOrder,
    stablenet.StableBlock, *schemes.DENSE_BLOCKS.values(), *schemes.CONV_BLOCKS.values(),
]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_class_docstring_states_its_update_rule(cls):
    own = cls.__dict__.get("__doc__")
    assert own, f"{cls.__name__} has no docstring of its own"
    # an update rule: a step y_{j+1} = ..., or the right-hand side of the ODE (d./dt = ...)
    assert "_{j+1} =" in own or "/dt =" in own or "y+ =" in own, own
    assert own in inspect.getdoc(cls) or inspect.cleandoc(own) == inspect.getdoc(cls)
