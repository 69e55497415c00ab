"""What a run needs of the machine: the memory estimate (the parameter count is exact), its
refusal of configurations that cannot fit, bounds on sizes, and threads capped at the CPUs."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import torch

from stablenet.errors import ConfigError
from stablenet.memory import Checkpoint, Reversible, Store
from stablenet.train import TrainConfig, check, resolve, resources, train
from stablenet.train.resources import check_fits, estimate, parameter_count, thread_count
from stablenet.train.setup import build, load_data


@pytest.fixture(scope="module")
def image_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("img") / "img.npz"
    rng = np.random.default_rng(0)
    np.savez(path, x_train=rng.normal(size=(20, 2, 8, 8)).astype(np.float32),
             y_train=np.arange(20) % 3, x_val=rng.normal(size=(6, 2, 8, 8)).astype(np.float32),
             y_val=np.arange(6) % 3)
    return path


@pytest.mark.parametrize("kw", [
    dict(dataset="ellipses"), dict(dataset="peaks", bias="feature", width=7),
    dict(dataset="swissroll", opening="linear", width=5, arch="antisymmetric", levels=2,
         depth=3),
    dict(image=True, channels=[3, 5], bias="feature", depth=2),
    dict(image=True, channels=[4], arch="leapfrog", depth=3, bias="scalar"),
])
def test_the_parameter_count_is_that_of_the_built_model(kw, image_data):
    kw = dict(kw)
    if kw.pop("image", False):
        kw["dataset"] = str(image_data)
    config = TrainConfig(**kw)
    split = load_data(config)
    resolved = resolve(config, split.is_image, split.n_features)
    for level in range(resolved.levels):
        model = build(resolved, split, level)
        depth = resolved.depth * 2**level
        assert parameter_count(resolved, split, depth) == sum(
            p.numel() for p in model.parameters())
    assert estimate(resolved, split).parameters == parameter_count(resolved, split, depth)


def test_memory_modes_order_the_activations(image_data):
    split = load_data(TrainConfig(dataset=str(image_data)))
    bytes_of = {}
    for name, memory in (("store", Store()), ("checkpoint", Checkpoint(2)),
                         ("reversible", Reversible())):
        config = resolve(TrainConfig(dataset=str(image_data), depth=16, memory=memory), True, 0)
        bytes_of[name] = estimate(config, split).activation_bytes
    assert bytes_of["reversible"] < bytes_of["checkpoint"] < bytes_of["store"]
    # store keeps N + 1 = 17 layers, checkpoint 16 / 2 + 2 = 10, reversible 2
    assert bytes_of["store"] * 10 == bytes_of["checkpoint"] * 17
    assert bytes_of["store"] * 2 == bytes_of["reversible"] * 17


def test_a_configuration_that_cannot_fit_is_refused_with_the_numbers(tmp_path):
    with pytest.raises(ConfigError) as info:
        train(TrainConfig(dataset="ellipses", width=100000), tmp_path)
    msg = str(info.value)
    assert "needs at least" in msg and "TB of memory" in msg and "640,000," in msg
    assert "--width" in msg and not (tmp_path / "checkpoint.pt").exists()


def test_the_limit_names_activations_when_they_dominate(monkeypatch):
    config = resolve(TrainConfig(dataset="ellipses", batch_size=0), False, 2)
    split = load_data(config)
    monkeypatch.setattr(resources, "memory_limit", lambda device: (1000, "a tiny machine"))
    with pytest.raises(ConfigError, match="a tiny machine is 1 kB.*--batch-size, or "
                       "--checkpoint K / --reversible"):
        check_fits(config, split, torch.device("cpu"))


def test_the_memory_limit_is_known_here():
    limit, what = resources.memory_limit(torch.device("cpu"))
    assert limit > 2**26 and "memory" in what


@pytest.mark.parametrize("kw, message", [
    (dict(levels=99999999999), "--levels 17 at most"),
    (dict(levels=1000000, depth=2), "would double the depth 999999 times"),
    (dict(levels=10, depth=129), "would reach depth 66048; keep"),
    (dict(T=1e308), "--T (the final time) must be at most 3.4e+38 (the largest float32"),
    (dict(lr=1e39), "--lr must be at most 3.4e+38"),
    (dict(T=1e36), "over 65536 layers, so that the layer times j T / N are representable"),
    (dict(T=1e308, dtype="float64"), "the largest float64 over 65536 layers"),
    (dict(alpha=1e39), "--alpha must be at most"),
    (dict(seed=10**23), "--seed must be at most 9223372036854775807"),
    (dict(arch="leapfrog", T=1e30, depth=4), "h^2 = 6.25e+58"),
])
def test_sizes_that_cannot_be_represented_are_refused(kw, message):
    with pytest.raises(ConfigError) as info:
        check(TrainConfig(**kw))
    assert message in str(info.value)


def test_float64_runs_take_larger_values():
    check(TrainConfig(dtype="float64", lr=1e39, T=1e300))


def test_threads_are_capped_at_the_cpus():
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with pytest.warns(RuntimeWarning, match=f"more than the {cpus} CPUs"):
        assert thread_count(10**6) == cpus
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert thread_count(1) == 1
