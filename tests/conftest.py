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
