"""The matplotlib helpers every figure of the library uses (matplotlib is optional).

matplotlib is imported only when a figure is drawn, with the non-interactive Agg backend,
so the core needs only torch and numpy; without it, :func:`pyplot` raises a
:class:`~stablenet.errors.ConfigError` that says how to install it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .io import atomic_write


def pyplot() -> Any:
    """``matplotlib.pyplot`` with the Agg backend; ConfigError if matplotlib is missing."""
    try:  # lazily: matplotlib is an optional dependency (stablenet[plots])
        import matplotlib
    except ImportError:
        raise ConfigError(
            "figures need matplotlib: pip install 'stablenet[plots]' (or pass --no-plots / "
            "--no-figures)"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # lazily, after the backend is chosen

    return plt


def save_figure(fig: Any, path: str | os.PathLike) -> Path:
    """Lay out, write (dpi 110, atomically: see :mod:`stablenet.io`) and close a figure;
    returns the path. The format is the file name's suffix (default png)."""
    path = Path(path)
    try:
        fig.tight_layout()
        atomic_write(path, lambda f: fig.savefig(f, dpi=110, format=path.suffix[1:] or "png"))
    finally:
        pyplot().close(fig)
    return path
