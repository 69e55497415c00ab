"""BlockCoordinateDescent: the API the training loop uses, and what it achieves."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from stablenet import ConfigError, DataError, build_model
from stablenet.data import swissroll
from stablenet.errors import ConfigTypeError
from stablenet.memory import Checkpoint, Reversible
from stablenet.objective import regularization
from stablenet.optim import BlockCoordinateDescent

KEYS = {"loss": float, "accuracy": float, "classifier_cg_iters": int, "network_cg_iters": int,
        "function_evals": int}


def _dense(arch="resnet", depth=4, **kw):
    torch.manual_seed(0)
    model = build_model(arch, (2,), 2, width=4, depth=depth, T=2.0, **kw)
    x = torch.randn(96, 2, generator=torch.Generator().manual_seed(1))
    y = (x[:, 0] * x[:, 1] > 0).long()
    return model, x, y


def _objective(model, x, y, alpha, beta):
    with torch.no_grad():
        return (F.cross_entropy(model(x), y) + regularization(model, alpha, beta)).item()


def test_swissroll_reaches_99_percent_validation():
    data = swissroll()
    torch.manual_seed(0)
    model = build_model("hamiltonian", (2,), 2, width=4, depth=16, T=10.0)
    # the authors' Hamiltonian alpha 5e-3, beta 1e-4; 5 steps here (60 allowed)
    opt = BlockCoordinateDescent(model, 5e-3, 1e-4, newton_iters=3, cg_iters=20, gn_iters=2)
    best = 0.0
    for _ in range(60):
        opt.step(model, data.x_train, data.y_train)
        with torch.no_grad():
            val = (model(data.x_val).argmax(1) == data.y_val).double().mean().item()
        best = max(best, val)
        if best >= 0.99:
            break
    assert best >= 0.99


def test_step_returns_the_documented_values():
    model, x, y = _dense()
    opt = BlockCoordinateDescent(model, 1e-2, 1e-3)
    info = opt.step(model, x, y)
    for key, kind in KEYS.items():
        assert isinstance(info[key], kind), key
    assert info["loss"] == pytest.approx(_objective(model, x, y, 1e-2, 1e-3), rel=1e-5)
    with torch.no_grad():
        acc = (model(x).argmax(1) == y).double().mean().item()
    assert info["accuracy"] == pytest.approx(acc)
    assert info["count"] == 96 and info["correct"] == round(acc * 96)
    assert info["classifier_cg_iters"] > 0 and info["network_cg_iters"] > 0
    assert opt.totals["steps"] == 1 and opt.totals["function_evals"] == info["function_evals"]


def test_each_step_decreases_the_objective_on_a_fixed_batch():
    model, x, y = _dense()
    opt = BlockCoordinateDescent(model, 1e-2, 1e-3, curvature_subsample=32)
    values = [_objective(model, x, y, 1e-2, 1e-3)]
    for _ in range(4):
        values.append(opt.step(model, x, y)["loss"])
    assert all(b <= a + 1e-6 for a, b in zip(values, values[1:], strict=False))
    assert values[-1] < values[0] - 1e-2


@pytest.mark.parametrize("phase", ["classifier", "network"])
def test_a_phase_with_zero_iterations_leaves_its_parameters(phase):
    model, x, y = _dense()
    before = copy.deepcopy(model.state_dict())
    iters = dict(newton_iters=0) if phase == "classifier" else dict(gn_iters=0)
    BlockCoordinateDescent(model, 1e-2, 1e-3, **iters).step(model, x, y)
    after = model.state_dict()
    for name in before:
        same = torch.equal(before[name], after[name])
        assert same == (name.startswith("classifier") == (phase == "classifier")), name


def test_frozen_network_parameters_are_left_alone():
    model, x, y = _dense()
    model.blocks.requires_grad_(False)
    k_before = model.blocks[0].K.detach().clone()
    info = BlockCoordinateDescent(model, 1e-2, 1e-3).step(model, x, y)
    assert torch.equal(model.blocks[0].K, k_before)
    assert info["network_cg_iters"] == 0 and info["classifier_cg_iters"] > 0
    assert info["loss"] == pytest.approx(_objective(model, x, y, 1e-2, 1e-3), rel=1e-5)


def test_conv_model_step_updates_batch_norm_once_and_descends():
    torch.manual_seed(0)
    model = build_model("antisymmetric", (1, 6, 6), 3, width=[3, 4], depth=2, T=1.0)
    model.train()
    x, y = torch.randn(24, 1, 6, 6), torch.arange(24) % 3
    opt = BlockCoordinateDescent(model, 1e-3, 1e-3, cg_iters=5, curvature_subsample=12)
    first = opt.step(model, x, y)
    second = opt.step(model, x, y)
    assert int(model.opening[1].num_batches_tracked) == 2
    assert second["loss"] <= first["loss"] + 1e-6 and second["network_cg_iters"] > 0


def test_blocks_replaced_between_steps_are_optimised():
    model, x, y = _dense(depth=4)
    opt = BlockCoordinateDescent(model, 1e-2, 1e-3)
    opt.step(model, x, y)
    model.blocks[0] = model.blocks[0].resized(8)  # multilevel: a deeper block
    opt.reset(model)
    k_before = model.blocks[0].K.detach().clone()
    opt.step(model, x, y)
    assert model.blocks[0].K.shape[0] == 8
    assert not torch.equal(model.blocks[0].K, k_before)


@pytest.mark.parametrize("memory", [Reversible(), Checkpoint(2)], ids=repr)
def test_memory_modes_give_the_store_step_and_are_restored(memory, monkeypatch):
    store, x, y = _dense("hamiltonian")
    other = _dense("hamiltonian", memory=memory)[0]
    own = other.blocks[0].memory
    calls = []  # the optimiser's step must not run the block's own mode
    monkeypatch.setattr(type(memory), "integrate", lambda *a: calls.append(a))
    for model in (store, other):
        BlockCoordinateDescent(model, 1e-2, 1e-3).step(model, x, y)
    assert other.blocks[0].memory is own and not calls
    for a, b in zip(store.parameters(), other.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def test_state_dict_resumes_identically():
    model, x, y = _dense()
    opt = BlockCoordinateDescent(model, 1e-2, 1e-3, curvature_subsample=40, seed=3)
    opt.step(model, x, y)
    state, twin = copy.deepcopy(opt.state_dict()), copy.deepcopy(model)
    resumed = BlockCoordinateDescent(twin, 1e-2, 1e-3, curvature_subsample=40, seed=99)
    resumed.load_state_dict(state)
    assert resumed.totals == opt.totals
    a, b = opt.step(model, x, y), resumed.step(twin, x, y)
    assert a == b
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        assert torch.equal(p, q)


def test_user_mistakes_raise_clear_errors():
    model, x, y = _dense()
    with pytest.raises(ConfigTypeError, match="classifier"):
        BlockCoordinateDescent(torch.nn.Linear(2, 2), 1.0, 1.0)
    with pytest.raises(ConfigError, match="alpha"):
        BlockCoordinateDescent(model, -1.0, 1.0)
    with pytest.raises(ConfigError, match="cg_iters"):
        BlockCoordinateDescent(model, 1.0, 1.0, cg_iters=0)
    with pytest.raises(ConfigTypeError, match="gn_iters"):
        BlockCoordinateDescent(model, 1.0, 1.0, gn_iters=1.5)
    with pytest.raises(ConfigError, match="shift"):
        BlockCoordinateDescent(model, 1.0, 1.0, shift=0.0)
    opt = BlockCoordinateDescent(model, 1.0, 1.0)
    with pytest.raises(DataError, match="rows"):
        opt.step(model, x, y[:-1])
    with pytest.raises(ConfigError, match="state"):
        opt.load_state_dict({"steps": 1})
