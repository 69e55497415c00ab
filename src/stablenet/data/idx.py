"""A small reader (and writer) of the idx format used by MNIST and Fashion-MNIST.

An idx file is a 4-byte magic number ``0x00 0x00 <dtype code> <number of dims>``, then
one big-endian uint32 per dimension, then the row-major big-endian payload. Files may be
gzip-compressed (by name ``*.gz`` or by the gzip signature). Every problem with a file is
raised as :class:`~stablenet.errors.DataError` naming the file.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from stablenet.errors import DataError

#: idx dtype code -> big-endian numpy dtype
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_SIGNATURE = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, expected an idx file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read file ({e.strerror or e})") from None
    if path.suffix == ".gz" or raw[:2] == _GZIP_SIGNATURE:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(
                f"{path}: not a valid gzip file ({e}); the download is probably incomplete or "
                "corrupt, download it again"
            ) from None
    return raw


def parse_idx(raw: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode idx bytes into a native-endian numpy array; ``source`` names it in errors."""
    if len(raw) < 4:
        raise DataError(f"{source}: too short for an idx file ({len(raw)} bytes, header needs 4)")
    zero, code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or code not in IDX_DTYPES:
        raise DataError(
            f"{source}: bad idx magic number 0x{raw[:4].hex()} (expected 0x0000 followed by a "
            f"type code in {[hex(c) for c in IDX_DTYPES]} and the number of dims); "
            "this is not an idx file"
        )
    if ndim == 0:
        raise DataError(f"{source}: idx header declares 0 dimensions; expected at least 1")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(
            f"{source}: truncated idx header: {ndim} dimensions need {header} bytes, "
            f"file has {len(raw)}"
        )
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = IDX_DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize
    actual = len(raw) - header
    if actual != expected:
        what = "truncated" if actual < expected else "oversized"
        raise DataError(
            f"{source}: {what} idx payload: shape {shape} of {dtype.name} needs {expected} "
            f"bytes after the header but {actual} are present; the file is corrupt, "
            "download it again"
        )
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an idx file (plain or gzip) into a numpy array; raise DataError naming the file."""
    path = Path(path)
    return parse_idx(_read_bytes(path), str(path))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as an idx file, gzip-compressed when ``path`` ends in ``.gz``."""
    array = np.asarray(array)
    codes = {dt.newbyteorder("="): c for c, dt in IDX_DTYPES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None or array.ndim == 0 or array.ndim > 255:
        raise DataError(f"{path}: cannot write dtype {array.dtype} with {array.ndim} dims as idx")
    header = struct.pack(">HBB", 0, code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    path = Path(path)
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)
