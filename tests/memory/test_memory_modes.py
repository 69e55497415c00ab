"""The memory-mode objects: one argument, validated once, owned by the block, same numbers."""

from __future__ import annotations

import copy
import math

import pytest
import torch

import stablenet as sn
from stablenet.blocks import StableBlock
from stablenet.errors import ConfigError, ConfigTypeError
from stablenet.integrators import ForwardEuler
from stablenet.layers import Dense, Plain
from stablenet.memory import (
    Checkpoint,
    NotInvertibleError,
    Reversible,
    Store,
    as_memory,
    from_legacy,
)
from stablenet.schemes import ARCH_TABLE as SCHEMES
from stablenet.schemes import CONV_BLOCKS, DENSE_BLOCKS
from stablenet.train import TrainConfig, check

F64 = torch.float64
INVERTIBLE = [s for s, (_, integ, _) in SCHEMES.items() if integ.invertible]


def test_names_configs_and_objects_are_one_mode():
    for mode in (Store(), Checkpoint(), Checkpoint(every=5), Reversible(), Reversible(1e-6)):
        assert as_memory(mode) is mode
        assert as_memory(mode.to_config()) == mode
        assert as_memory(dict(mode.to_config())) is not mode
    assert as_memory("store") == Store() and as_memory("checkpoint") == Checkpoint(None)
    assert as_memory("reversible") == Reversible(drift_tol=1e-3)
    assert Checkpoint(4).to_config() == {"mode": "checkpoint", "every": 4}
    assert Reversible(0.5).to_config() == {"mode": "reversible", "drift_tol": 0.5}
    assert Checkpoint(4) != Checkpoint(5) and Store() != Checkpoint()
    assert repr(Checkpoint(every=3)) == "Checkpoint(every=3)" and repr(Store()) == "Store()"
    assert len({Store(), Store(), Checkpoint(2), Checkpoint(2)}) == 2


@pytest.mark.parametrize(("spec", "error", "message"), [
    ("recompute", ConfigError, "memory must be Store(), Checkpoint(every=k)"),
    (3, ConfigTypeError, "one of the names ['store', 'checkpoint', 'reversible'], got 3"),
    ({"mode": "checkpoint", "k": 3}, ConfigError, "has unknown keys"),
    ({"every": 3}, ConfigError, "memory must be"),
])
def test_bad_specs_say_what_is_accepted(spec, error, message):
    with pytest.raises(error) as info:
        as_memory(spec)
    assert message in str(info.value)
    with pytest.raises(error):
        sn.ResNet(4, 3, 1.0, memory=spec)


def test_modes_validate_their_own_parameters():
    with pytest.raises(ConfigError, match=r"segment length \(every=k layers\) must be positive"):
        Checkpoint(0)
    with pytest.raises(ConfigTypeError, match="positive integer, got 2.0"):
        Checkpoint(2.0)
    with pytest.raises(ConfigTypeError):
        Checkpoint(True)
    for bad, message in ((-1.0, "must be >= 0"), (math.nan, "must be finite"),
                         ("1e-3", "must be a number"), (True, "must be a number")):
        with pytest.raises((ConfigError, ConfigTypeError),
                           match=r"Reversible\(drift_tol=\.\.\.\) \(a number >= 0, or inf\) "
                           + message):
            Reversible(bad)
    assert Reversible(math.inf).drift_tol == math.inf and Reversible(0).drift_tol == 0.0


@pytest.mark.parametrize("conv", [False, True], ids=["dense", "conv"])
@pytest.mark.parametrize("arch", sorted(set(SCHEMES) - set(INVERTIBLE)))
def test_reversible_refuses_a_non_invertible_integrator(arch, conv):
    for spec in (Reversible(), "reversible", {"mode": "reversible", "drift_tol": 1.0}):
        with pytest.raises(NotInvertibleError) as info:
            sn.build_block(arch, 4, 3, 1.0, conv=conv, memory=spec)
        message = str(info.value)
        assert "needs an exactly invertible integrator, and euler is not" in message
        assert "['verlet', 'leapfrog', 'midpoint'] (architectures ['hamiltonian', 'leapfrog']" \
            in message and "--integrator midpoint" in message
        assert "memory=Checkpoint(k)" in message and "--checkpoint K" in message
    with pytest.raises(NotInvertibleError, match="build_model|invertible"):
        sn.build_model(arch, (2,), 2, 4, 3, 1.0, memory="reversible")


def test_a_plain_block_names_the_integrators_only():
    block = StableBlock(Plain(Dense(3)), ForwardEuler(), 4, 1.0)
    with pytest.raises(NotInvertibleError) as info:
        block.set_memory(Reversible())
    assert "invertible integrators are ['verlet', 'leapfrog', 'midpoint']." in str(info.value)
    assert "schemes" not in str(info.value) and block.memory == Store()  # mode unchanged


def test_the_block_owns_a_copy_and_using_memory_restores_it():
    mode = Reversible(1e-4)
    a, b = sn.HamiltonianNet(3, 4, 1.0, memory=mode), sn.HamiltonianNet(3, 4, 1.0, memory=mode)
    assert a.memory == mode and a.memory is not mode and a.memory is not b.memory
    a(torch.randn(2, 3)).sum().backward()
    assert math.isfinite(a.last_drift) and math.isnan(b.last_drift) and math.isnan(mode.last_drift)
    own = a.memory
    with a.using_memory(Store()) as temporary:
        assert a.memory is temporary and a.memory == Store() and math.isnan(a.last_drift)
    assert a.memory is own
    resnet = sn.ResNet(3, 4, 1.0, memory=Checkpoint(2))
    with pytest.raises(NotInvertibleError), resnet.using_memory("reversible"):
        pass
    assert resnet.memory == Checkpoint(2)
    deeper = a.resized(16)
    assert deeper.memory == own and deeper.memory is not own and math.isnan(deeper.last_drift)
    assert copy.deepcopy(own).record is not own.record


def test_repr_and_config_record_the_mode(tmp_path):
    block = sn.ParabolicResNet(4, 10, 1.0, memory=Checkpoint(3))
    assert "memory=Checkpoint(every=3)" in repr(block)
    assert "memory" not in repr(sn.ResNet(4, 2, 1.0))
    model = sn.build_model("antisymmetric", (1, 6, 6), 3, [2, 4], 3, 1.0, memory=Checkpoint(2))
    assert model.config["memory"] == {"mode": "checkpoint", "every": 2}
    assert [b.memory for b in model.blocks] == [Checkpoint(2)] * 2
    assert model.blocks[0].memory is not model.blocks[1].memory
    sn.save(model, tmp_path / "m.pt")
    loaded = sn.load(tmp_path / "m.pt")
    assert [b.memory for b in loaded.blocks] == [Checkpoint(2)] * 2
    assert sn.build_model("resnet", (2,), 3, 4, 5, 1.0).config["memory"] == {"mode": "store"}


@pytest.mark.parametrize(("memory", "checkpoint", "expected"), [
    ("store", None, Store()), ("checkpoint", None, Checkpoint()),
    ("checkpoint", 2, Checkpoint(2)), ("reversible", None, Reversible()),
])
def test_model_files_of_the_earlier_code_still_load(tmp_path, memory, checkpoint, expected):
    """``model.pt`` as written before the mode objects: ``memory`` a name and ``checkpoint``."""
    torch.manual_seed(0)
    model = sn.build_model("leapfrog", (1, 5, 5), 3, [2, 3], 2, 1.0)
    config = {**model.config, "memory": memory, "checkpoint": checkpoint}
    torch.save({"state_dict": model.state_dict(), "config": config}, tmp_path / "old.pt")
    loaded = sn.load(tmp_path / "old.pt")
    assert [b.memory for b in loaded.blocks] == [expected] * 2
    assert loaded.config["memory"] == expected.to_config() and "checkpoint" not in loaded.config
    x = torch.randn(2, 1, 5, 5)
    model.eval(), loaded.eval()
    torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


def test_training_configs_of_the_earlier_code_still_load():
    old = {**TrainConfig().to_dict(), "memory": "checkpoint", "checkpoint_segment": 3}
    assert TrainConfig.from_dict(old).memory == {"mode": "checkpoint", "every": 3}
    old.update(memory="reversible", checkpoint_segment=None)
    assert as_memory(TrainConfig.from_dict(old).memory) == Reversible()
    assert from_legacy("store", 4) == Checkpoint(4) and from_legacy("store") == Store()
    assert TrainConfig(memory=Checkpoint(5)).to_dict()["memory"] == {"mode": "checkpoint",
                                                                     "every": 5}
    with pytest.raises(ConfigError, match=r"memory mode \(--reversible / --checkpoint K\)"):
        check(TrainConfig(memory="recompute"))


# ---- every mode computes what store mode computes, in float64 ----

def _block(arch, conv, bias):
    torch.manual_seed(0)
    if conv:
        block, shape = CONV_BLOCKS[arch](2, 6, 2.0, bias=bias), (2, 2, 4, 3)
    else:
        block, shape = DENSE_BLOCKS[arch](4, 6, 2.0, bias=bias), (5, 4)
    block = block.to(F64)
    with torch.no_grad():
        block.b.normal_(0.0, 0.5)
    return block, torch.randn(shape, dtype=F64)


def _values_and_grads(block, x):
    block.zero_grad(set_to_none=True)
    x = x.clone().requires_grad_()
    out, state = block(x, return_state=True)
    (torch.sin(out).sum() + sum((s**2).sum() for s in state)).backward()
    return out.detach(), x.grad, block.K.grad, block.b.grad


CASES = [
    pytest.param(arch, mode, id=f"{arch}-{mode!r}")
    for arch in sorted(SCHEMES)
    for mode in (Checkpoint(1), Checkpoint(4), Checkpoint(6), Checkpoint(), Reversible())
    if arch in INVERTIBLE or not isinstance(mode, Reversible)
]


@pytest.mark.parametrize("bias", ["scalar", "feature"])
@pytest.mark.parametrize("conv", [False, True], ids=["dense", "conv"])
@pytest.mark.parametrize(("arch", "mode"), CASES)
def test_each_mode_gives_the_store_values_and_gradients(arch, mode, conv, bias, monkeypatch):
    block, x = _block(arch, conv, bias)
    ref = _values_and_grads(block, x)
    block.set_memory(mode)
    ran = []
    integrate = type(mode).integrate
    monkeypatch.setattr(type(mode), "integrate", lambda m, *a: ran.append(m) or integrate(m, *a))
    got = _values_and_grads(block, x)
    assert ran == [block.memory]
    assert torch.equal(got[0], ref[0])  # the same loop runs forward: identical values
    for g, r in zip(got[1:], ref[1:], strict=True):
        assert g.abs().max() > 0
        torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-10)
