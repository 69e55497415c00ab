"""SIGTERM to a training process writes a checkpoint; resuming ends with identical weights."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

ARGS = ["train", "--dataset", "ellipses", "--depth", "2", "--levels", "2", "--epochs", "150",
        "--optimizer", "adam", "--lr", "0.01", "--batch-size", "16", "--limit-train", "48",
        "--limit-val", "16", "--T", "2", "--quiet", "--no-plots"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_sigterm_checkpoints_and_resume_matches_an_uninterrupted_run(cli, tmp_path):
    part = tmp_path / "part"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "stablenet", *ARGS, "--out", str(part)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 300
    while not (part / "checkpoint.pt").exists() and proc.poll() is None:
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM, (out, err)
    assert "interrupted by SIGTERM" in out and f"stablenet train --resume {part}" in out
    assert "Traceback" not in err
    assert not (part / "model.pt").exists()

    assert cli("train", "--resume", part, "--quiet", "--no-plots").code == 0
    assert cli(*ARGS, "--out", tmp_path / "full").code == 0
    for name, key in (("checkpoint.pt", "model"), ("model.pt", "state_dict")):
        a = torch.load(tmp_path / "full" / name, weights_only=True)[key]
        b = torch.load(part / name, weights_only=True)[key]
        assert all(torch.equal(a[k], b[k]) for k in a), name
