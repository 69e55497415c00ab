"""User data files (kept for imports of ``stablenet.data.files``): see
:mod:`stablenet.data.npzfile` and :mod:`stablenet.data.csvfile`."""

from stablenet.data.csvfile import load_csv
from stablenet.data.npzfile import NPZ_KEYS, load_npz

__all__ = ["NPZ_KEYS", "load_csv", "load_npz"]
