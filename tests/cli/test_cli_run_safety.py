"""`stablenet train` keeps work safe: the run lock across processes, --resume / --overwrite
/ --allow-data-change combinations, finished runs, a full disk, sizes that cannot fit, and
the help that says all this; every refusal exits 2 with a message and no traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from cli_assert import expect_error

from stablenet.train.defaults import DEFAULTS_2D, DEFAULTS_IMAGE, DEFAULTS_USER
from stablenet.train.rundir import LOCK
from stablenet.train.trainer import Trainer

TRAIN = ["train", "--dataset", "ellipses", "--depth", "2", "--epochs", "2", "--limit-train",
         "40", "--quiet", "--no-plots"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_a_second_train_into_the_same_out_is_refused(cli, tmp_path):
    out = tmp_path / "run"
    argv = [*TRAIN[:6], "100000", *TRAIN[7:], "--optimizer", "adam", "--batch-size", "8"]
    first = subprocess.Popen([sys.executable, "-m", "stablenet", *argv, "--out", str(out)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not (out / "checkpoint.pt").exists():  # running, lock held
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.05)
        assert json.loads((out / LOCK).read_text())["pid"] == first.pid
        r = cli(*TRAIN, "--out", out)
        expect_error(r, f"in use by another training run: process {first.pid}",
                     "stablenet train", "another --out")
        expect_error(cli(*TRAIN, "--out", out, "--overwrite"), f"process {first.pid}")
        expect_error(cli("train", "--resume", out), f"process {first.pid}")
    finally:
        first.send_signal(signal.SIGTERM)
        stdout, stderr = first.communicate(timeout=300)
    assert first.returncode == 128 + signal.SIGTERM and "Traceback" not in stderr
    assert not (out / LOCK).exists()
    assert cli("train", "--resume", out, "--stop-after-epochs", "1", "--quiet").code == 130


def test_resume_with_overwrite_and_data_change_without_resume(cli, tmp_path):
    expect_error(cli("train", "--resume", tmp_path, "--overwrite"),
                 "--resume continues the run", "--overwrite starts a new one", "give one")
    expect_error(cli(*TRAIN, "--allow-data-change", "--out", tmp_path),
                 "--allow-data-change applies to --resume DIR only")


def test_the_summary_leads_with_model_pt_and_a_finished_run_says_so(cli, tmp_path):
    r = cli(*TRAIN[:-2], "--no-plots", "--out", tmp_path)
    assert r.code == 0, r.err
    m = json.loads((tmp_path / "metrics.json").read_text())
    first = r.out.splitlines()[-2] if "note:" not in r.out else r.out.splitlines()[-3]
    assert first.startswith(f"val accuracy {m['best_val_accuracy']:.4f}, train accuracy "
                            f"{m['best_train_accuracy']:.4f} (model.pt: the best validation")
    stamps = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    again = cli("train", "--resume", tmp_path)
    assert again.code == 0, again.err
    assert "had already finished: nothing was trained or written" in again.out
    assert "wrote" not in again.out and "--overwrite" in again.out
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == stamps


def test_a_full_disk_ends_with_a_message_and_the_resume_command(cli, tmp_path, full_disk):
    assert cli(*TRAIN, "--stop-after-epochs", "1", "--out", tmp_path).code == 130
    before = (tmp_path / "checkpoint.pt").read_bytes()
    full_disk(0)
    r = cli("train", "--resume", tmp_path, "--quiet", "--no-plots")
    expect_error(r, "cannot write", "checkpoint.pt: No space left on device",
                 "previous checkpoint.pt is unchanged", f"stablenet train --resume {tmp_path}")
    assert (tmp_path / "checkpoint.pt").read_bytes() == before


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_sigterm_during_the_final_save(cli, tmp_path, monkeypatch):
    finish = Trainer.finish

    def signalled(self):
        os.kill(os.getpid(), signal.SIGTERM)
        return finish(self)

    monkeypatch.setattr(Trainer, "finish", signalled)
    r = cli(*TRAIN, "--out", tmp_path)
    assert r.code == 128 + signal.SIGTERM and "Traceback" not in r.err
    assert "SIGTERM arrived while the final files were written; the run is complete" in r.out
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["trainer"]["complete"]


@pytest.mark.parametrize("flags, message", [
    (["--width", "100000"], "needs at least"),
    (["--levels", "99999999999"], "--levels 17 at most"),
    (["--levels", "1000000"], "would double the depth 999999 times"),
    (["--T", "1e308"], "--T (the final time) must be at most 3.4e+38"),
    (["--optimizer", "adam", "--lr", "1e39"], "--lr must be at most 3.4e+38"),
    (["--seed", "100000000000000000000000"], "--seed must be at most"),
])
def test_sizes_that_cannot_fit_are_refused(cli, tmp_path, flags, message):
    expect_error(cli(*TRAIN, *flags, "--out", tmp_path / "o"), message)
    assert not (tmp_path / "o" / "checkpoint.pt").exists()


def test_huge_threads_are_capped_with_a_warning(cli, tmp_path):
    r = cli(*TRAIN, "--threads", "100000", "--out", tmp_path)
    assert r.code == 0, r.err
    assert "--threads 100000 is more than the" in r.err


def test_a_damaged_checkpoint_is_refused_on_resume(cli, tmp_path):
    assert cli(*TRAIN, "--stop-after-epochs", "1", "--out", tmp_path).code == 130
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    ckpt["trainer"]["epoch"] = "two"
    torch.save(ckpt, tmp_path / "checkpoint.pt")
    expect_error(cli("train", "--resume", tmp_path), "damaged or was edited",
                 "'epoch' is str", "--overwrite")


def test_help_shows_the_per_dataset_defaults_and_the_safety_rules(cli):
    r = cli("train", "--help")
    assert r.code == 0
    rows = {line.split()[0]: line.split()[1:] for line in r.out.splitlines()
            if line.startswith("  --") and len(line.split()) == 4}
    assert rows["--depth"] == [str(DEFAULTS_2D["depth"]), str(DEFAULTS_IMAGE["depth"]),
                               str(DEFAULTS_USER["depth"])]
    assert rows["--optimizer"] == [DEFAULTS_2D["optimizer"], DEFAULTS_IMAGE["optimizer"],
                                   DEFAULTS_USER["optimizer"]]
    assert rows["--standardize"] == ["none", "none", "features"]
    text = " ".join(r.out.split())
    for promise in ("One run per --out at a time", "--overwrite removes the previous run's "
                    "files", "--resume checks that the training data", "--allow-data-change",
                    "warnings (how the data were read, stability) and errors still go to "
                    "stderr"):
        assert promise in text, promise


def test_the_readme_states_the_safety_rules():
    from pathlib import Path

    readme = " ".join((Path(__file__).resolve().parents[2] / "README.md").read_text().split())
    for promise in ("One run per directory", "`--overwrite` removes the previous run's files",
                    "`--resume` checks that the training data", "`--allow-data-change`",
                    "what cannot fit is refused with the numbers", "A full disk ends with"):
        assert promise in readme, promise


def test_a_full_disk_in_any_writer_is_a_message(cli, tmp_path, monkeypatch):
    """Also when the OSError does not come from stablenet's atomic writer (e.g. a writer
    patched or added later): a message with the resume command, exit 2."""
    import errno

    from stablenet.train import trainer

    assert cli(*TRAIN, "--stop-after-epochs", "1", "--out", tmp_path).code == 130

    def full(path, payload):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(trainer, "save_checkpoint", full)
    expect_error(cli("train", "--resume", tmp_path, "--quiet"), "No space left on device",
                 f"stablenet train --resume {tmp_path}")
    from stablenet.cli import predict

    def also_full(args):
        raise OSError(errno.ENOSPC, "No space left on device", "p.csv")

    monkeypatch.setattr(predict, "run", also_full)
    expect_error(cli("predict", "m.pt", "x.csv", "--out", "p.csv"),
                 "cannot write p.csv: No space left on device", "free disk space")
