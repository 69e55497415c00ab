"""Data-parallel training under torchrun: 2 CPU processes (gloo on 127.0.0.1) vs one process.

One torchrun job runs tests/train/ddp_worker.py (library API: uneven Adam mini-batches over
two levels, full-batch L-BFGS, an interrupted and resumed SGD run, then a run in which
rank 1 raises); one more job runs the CLI. The one-process references run in this process.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from stablenet.errors import ConfigError
from stablenet.train import TrainConfig, train
from stablenet.train import distributed as D

HERE = Path(__file__).parent
JOB_TIMEOUT = 240  # seconds: a hung job fails the test instead of blocking the suite


def _worker():
    spec = importlib.util.spec_from_file_location("ddp_worker", HERE / "ddp_worker.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m torch.distributed.run --nproc_per_node=2 ARGS`` on 127.0.0.1."""
    full_env = {k: v for k, v in os.environ.items() if k not in D.ENV}
    full_env.update({"STABLENET_DIST_TIMEOUT": "60", "OMP_NUM_THREADS": "1", **(env or {})})
    if Path("/sys/class/net/lo").exists():
        full_env["GLOO_SOCKET_IFNAME"] = "lo"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
           "--master_addr=127.0.0.1", f"--master_port={_free_port()}", *args]
    return subprocess.run(cmd, env=full_env, capture_output=True, text=True,
                          timeout=JOB_TIMEOUT)


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """The worker job (2 ranks) and the one-process reference, in one directory."""
    out = tmp_path_factory.mktemp("ddp")
    proc = torchrun([str(HERE / "ddp_worker.py"), str(out)], {"STABLENET_TEST_FAIL_STEP": "2"})
    _worker().run_all(out, "single")
    return out, proc


def _states(out: Path, name: str) -> list[dict[str, dict[str, torch.Tensor]]]:
    return [torch.load(out / f"{name}-{tag}.pt") for tag in ("rank0", "rank1", "single")]


@pytest.mark.parametrize("name", ["adam", "lbfgs", "resumed"])
def test_two_ranks_equal_one_process(job, name):
    out, proc = job
    assert (out / "done-rank0").exists() and (out / "done-rank1").exists(), proc.stderr[-3000:]
    rank0, rank1, single = (s["final"] for s in _states(out, name))
    assert set(rank0) == set(single)
    for key in single:
        assert rank0[key].dtype == torch.float64
        assert torch.equal(rank0[key], rank1[key]), key  # DDP keeps the ranks identical
        torch.testing.assert_close(rank0[key], single[key], rtol=0, atol=1e-6, msg=key)
    first = _states(out, name)[2]["first"]  # after the first epoch (blocks may grow later)
    change = max(float((single[k] - first[k]).abs().max()) for k in single
                 if single[k].shape == first[k].shape)
    assert change > 1e-3  # training moved the weights far more than the tolerance


def test_only_rank_0_writes(job):
    out, _ = job
    for name in ("adam", "lbfgs"):
        assert sorted(p.name for p in (out / f"{name}-rank1").iterdir()) == []
        written = sorted(p.name for p in (out / f"{name}-rank0").iterdir())
        assert written == ["checkpoint.pt", "config.toml", "log_epochs.csv", "log_steps.csv",
                           "metrics.json", "model.pt"]
    metrics = json.loads((out / "adam-rank0" / "metrics.json").read_text())
    single = json.loads((out / "adam-single" / "metrics.json").read_text())
    for mine, ref in zip(metrics["history"], single["history"], strict=True):
        assert mine["val_accuracy"] == ref["val_accuracy"]  # reduced evaluation: exact counts
        assert mine["train_accuracy"] == ref["train_accuracy"]
        assert mine["val_loss"] == pytest.approx(ref["val_loss"], rel=1e-9)


def test_failing_rank_ends_the_job_with_an_error(job):
    _, proc = job
    assert proc.returncode != 0
    assert "rank 1 fails on purpose at step 2" in proc.stderr


@pytest.mark.slow
def test_stuck_rank_times_out(tmp_path):
    """Rank 1 stops responding: rank 0's collective times out (STABLENET_DIST_TIMEOUT = 5 s)
    and the job ends with an error (torchrun kills rank 1 after its 30 s grace period)."""
    proc = torchrun([str(HERE / "ddp_worker.py"), str(tmp_path), "hang"],
                    {"STABLENET_DIST_TIMEOUT": "5"})
    assert proc.returncode != 0
    assert "timed out" in proc.stderr.lower()


def test_cli_under_torchrun(tmp_path):
    run = tmp_path / "run"
    flags = ["--dataset", "ellipses", "--limit-train", "30", "--limit-val", "10", "--dtype",
             "float64", "--optimizer", "adam", "--lr", "0.05", "--batch-size", "10",
             "--epochs", "2", "--levels", "1", "--depth", "4", "--T", "1", "--seed", "1"]
    proc = torchrun(["-m", "stablenet", "train", *flags, "--out", str(run), "--no-plots"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("val accuracy") == 1  # rank 0 alone reports
    ref = train(TrainConfig(dataset="ellipses", limit_train=30, limit_val=10, dtype="float64",
                            optimizer="adam", lr=0.05, batch_size=10, epochs=2, levels=1,
                            depth=4, T=1.0, seed=1), tmp_path / "ref")
    final = torch.load(run / "checkpoint.pt")["model"]  # the last weights, not the best ones
    for key, value in torch.load(tmp_path / "ref" / "checkpoint.pt")["model"].items():
        torch.testing.assert_close(final[key], value, rtol=0, atol=1e-6, msg=key)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["val_accuracy"] == ref.metrics["val_accuracy"]
    assert metrics["best_val_accuracy"] == ref.metrics["best_val_accuracy"]


def test_shards_partition_each_global_batch():
    perm = torch.randperm(23, generator=torch.Generator().manual_seed(0))
    for w in (1, 2, 3, 5):
        slices = [D.rank_batches(perm, 7, r, w) for r in range(w)]
        for b in range(4):  # batches of 7, 7, 7, 2 ... contiguous slices in rank order
            joined = torch.cat([slices[r][b] for r in range(w)])
            assert torch.equal(joined, perm[7 * b:7 * b + 7])
        sizes = [len(slices[r][0]) for r in range(w)]
        assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)


def test_shard_bounds_match_array_split():
    import numpy as np

    for n in range(0, 12):
        for w in range(1, 5):
            parts = np.array_split(np.arange(n), w)
            for r in range(w):
                start, end = D.shard_bounds(n, r, w)
                assert list(range(start, end)) == parts[r].tolist()


def test_refusals():
    base = TrainConfig(dataset="ellipses", optimizer="adam", batch_size=10)
    with pytest.raises(ConfigError, match="bcd"):
        D.check_config(TrainConfig(dataset="ellipses", optimizer="bcd", batch_size=0), 40, 2)
    with pytest.raises(ConfigError, match="1 example"):
        D.check_config(base, 41, 2)  # the last batch holds one example
    D.check_config(base, 42, 2)
    with pytest.raises(ConfigError, match="3 processes"):
        D.check_config(TrainConfig(dataset="ellipses", optimizer="adam", batch_size=2), 40, 3)
    with pytest.raises(ConfigError, match="--compile is not supported under torchrun"):
        D.check_config(TrainConfig(dataset="ellipses", optimizer="adam", batch_size=10,
                                   compile="inductor"), 42, 2)


def test_environment(monkeypatch):
    for name in D.ENV:
        monkeypatch.delenv(name, raising=False)
    assert not D.launched() and D.is_main_process() and D.world_size() == 1
    assert D.local_device("cuda") == "cuda"
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert D.launched() and not D.is_main_process() and D.world_size() == 4
    assert D.local_device("cuda") == "cuda:1" and D.local_device("cpu") == "cpu"
    with pytest.raises(ConfigError, match="MASTER_ADDR"):
        D.init("cpu")
    monkeypatch.setenv(D.TIMEOUT_ENV, "0")
    with pytest.raises(ConfigError, match="positive"):
        D.timeout()
    monkeypatch.setenv(D.TIMEOUT_ENV, "2.5")
    assert D.timeout().total_seconds() == 2.5
