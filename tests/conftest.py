"""Shared fixtures. Keep this file minimal: fixtures used by tests in several folders."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def float64():
    """Run the test with float64 as torch's default dtype (restored afterwards)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield torch.float64
    torch.set_default_dtype(old)


class SumGrads:
    """The ``grads`` a written VJP adds its weight gradients to: the sums of
    ``scale * (dK, db)`` (``db`` None adds nothing)."""

    def __init__(self) -> None:
        self.K = self.b = 0.0

    def add(self, scale, gK, gb) -> None:
        self.K = self.K + scale * gK
        self.b = self.b + (0.0 if gb is None else scale * gb)

    def add_outer(self, scale, AT, C) -> None:
        self.K = self.K + scale * AT @ C

    def bias_slot(self, like, scale) -> None:
        return None  # db terms come through add


@pytest.fixture
def sum_grads():
    """A factory of fresh :class:`SumGrads` (one per VJP call)."""
    return SumGrads


class _FullDisk:
    """A file whose writes fail with ENOSPC once ``room`` bytes are written."""

    def __init__(self, f, room: int) -> None:
        self.f, self.room = f, room

    def write(self, data) -> int:
        if len(data) > self.room:
            import errno

            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return self.f.write(data)

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


@pytest.fixture
def full_disk(monkeypatch):
    """``full_disk(room=0)``: from then on, every file stablenet's atomic writer opens fails
    with OSError(ENOSPC) after ``room`` bytes, as on a full disk (the writer is patched)."""
    import os

    real = os.fdopen

    def fill(room: int = 0) -> None:
        monkeypatch.setattr("stablenet.io.os.fdopen",
                            lambda *a, **kw: _FullDisk(real(*a, **kw), room))

    return fill
