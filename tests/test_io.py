"""Files: atomic writes with the user's umask, full-disk failures as messages, stale
temporaries, and safe reads of torch files with messages that never advise unsafe loads."""

from __future__ import annotations

import errno
import os

import pytest
import torch

from stablenet.errors import CheckpointError, ConfigError, OutputError
from stablenet.io import (
    ensure_writable_dir,
    load_failure,
    load_torch,
    remove_stale_temporaries,
    save_json,
    save_text,
    save_torch,
)


@pytest.fixture
def umask():
    """``umask(mask)`` sets the process umask for the test (restored afterwards)."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda mask: os.umask(mask)
    os.umask(old)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_honour_the_umask(tmp_path, umask, mask, mode):
    umask(mask)
    for write, name in ((save_json, "m.json"), (save_text, "r.md"), (save_torch, "c.pt")):
        write({"a": 1} if write is not save_text else "text", tmp_path / name)
        assert os.stat(tmp_path / name).st_mode & 0o777 == mode, name


@pytest.mark.parametrize("write", [save_torch, save_json])
@pytest.mark.parametrize("room", [0, 100])
def test_a_full_disk_is_a_message_and_keeps_the_old_file(tmp_path, full_disk, write, room):
    path = tmp_path / "checkpoint.pt"
    save_torch({"old": torch.zeros(3)}, path)
    before = path.read_bytes()
    full_disk(room)
    with pytest.raises(OutputError) as info:
        write({"w": torch.zeros(1000).tolist()}, path)
    msg = str(info.value)
    assert info.value.errno == errno.ENOSPC and isinstance(info.value, OSError)
    assert str(path) in msg and "No space left on device" in msg
    assert "previous checkpoint.pt is unchanged" in msg and "free disk space" in msg
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["checkpoint.pt"]  # the temporary file is gone


def test_torch_short_write_without_errno_is_named(tmp_path, monkeypatch):
    """torch's zip writer reports a failed write as 'unexpected pos'; it becomes a message."""

    def short(*args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 46 vs 0")

    monkeypatch.setattr(torch, "save", short)
    with pytest.raises(OutputError, match="stopped short .is the disk full"):
        save_torch({}, tmp_path / "m.pt")


def test_stale_temporaries_are_removed(tmp_path):
    (tmp_path / "figures").mkdir()
    stale = [tmp_path / ".checkpoint.pt.ab12_xyz.tmp", tmp_path / "figures" / ".a.png.k3j4h5g6.tmp"]
    kept = [tmp_path / "notes.tmp", tmp_path / ".hidden", tmp_path / "model.pt"]
    for p in stale + kept:
        p.write_text("x")
    assert sorted(remove_stale_temporaries(tmp_path)) == sorted(stale)
    assert all(p.exists() for p in kept) and not any(p.exists() for p in stale)


def test_empty_output_directory_name_is_refused():
    with pytest.raises(ConfigError, match="empty name .an unset shell variable"):
        ensure_writable_dir("")


def test_load_torch_messages(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_torch(tmp_path / "missing.pt", "model file")
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"is empty \(0 bytes\)"):
        load_torch(empty, "model file")
    pickled = tmp_path / "module.pt"
    torch.save(torch.nn.Linear(2, 2), pickled)
    with pytest.raises(CheckpointError) as info:
        load_torch(pickled, "model file")
    msg = str(info.value)
    assert "foreign" in msg and "torch.nn.modules.linear.Linear" in msg
    assert "weights_only" not in msg and "trust" not in msg  # no advice to load it unsafely


def test_load_failure_matches_torch_wording_in_any_case():
    upper = RuntimeError("Weights only load failed.\nRe-running with weights_only=False ...\n"
                         "WeightsUnpickler error: unsupported GLOBAL os.system")
    assert "foreign" in load_failure(upper) and "(os.system)" in load_failure(upper)
    other = RuntimeError("PytorchStreamReader failed reading zip archive\nmore")
    assert load_failure(other) == ("it is corrupt, truncated or foreign (RuntimeError: "
                                   "PytorchStreamReader failed reading zip archive)")
    assert "no further detail" in load_failure(EOFError())
