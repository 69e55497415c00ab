"""A small streaming reader (and writer) of the idx format used by MNIST and Fashion-MNIST.

An idx file is a 4-byte magic number ``0x00 0x00 <dtype code> <number of dims>``, then
one big-endian uint32 per dimension, then the row-major big-endian payload. Files may be
gzip-compressed (by name ``*.gz`` or by the gzip signature). Every problem with a file is
raised as :class:`~stablenet.errors.DataError` naming the file.

The header is read first and the payload streamed into an array of exactly the declared
size, so a file that decompresses to more (a gzip bomb) is stopped one byte past the
declared size. Before any payload is read, the declared size is checked against what the
file can hold: an uncompressed file's own size, and for gzip the largest expansion deflate
allows (:data:`MAX_GZIP_RATIO`) and the machine's memory.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import math
import os
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

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
#: deflate expands at most ~1032:1 (a 258-byte match per 2 bits); a little margin on top
MAX_GZIP_RATIO = 1040
_GZIP_SIGNATURE = b"\x1f\x8b"
_CHUNK = 1 << 20

#: ``check(shape, dtype)``: called with the header's declaration before the payload is read
HeaderCheck = Callable[[tuple[int, ...], np.dtype], None]


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # not on every platform
        return None


class _Source:
    """A byte stream with its name, its compression, and DataErrors for read failures."""

    def __init__(self, stream: BinaryIO, name: str, gz: bool, stored: int | None) -> None:
        self.stream, self.name, self.gz, self.stored = stream, name, gz, stored

    def _fail(self, e: BaseException) -> DataError:
        if self.gz:
            return DataError(
                f"{self.name}: not a valid gzip file ({e}); the download is probably incomplete "
                "or corrupt, download it again"
            )
        return DataError(f"{self.name}: cannot read file ({getattr(e, 'strerror', None) or e})")

    def read(self, n: int) -> bytes:
        try:
            return self.stream.read(n)
        except (OSError, EOFError, zlib.error) as e:
            raise self._fail(e) from None

    def readinto(self, view: memoryview) -> int:
        try:
            return self.stream.readinto(view)
        except (OSError, EOFError, zlib.error) as e:
            raise self._fail(e) from None


@contextlib.contextmanager
def _open(path: Path) -> Iterator[_Source]:
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, expected an idx file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read file ({e.strerror or e})") from None
    with f:
        size = os.fstat(f.fileno()).st_size
        gz = path.suffix == ".gz" or f.read(2) == _GZIP_SIGNATURE
        f.seek(0)
        if gz:
            with gzip.GzipFile(fileobj=f, mode="rb") as g:
                yield _Source(g, str(path), True, size)
        else:
            yield _Source(f, str(path), False, size)


def _header(src: _Source) -> tuple[tuple[int, ...], np.dtype, int]:
    """Parse the magic number and the dims; return (shape, dtype, header bytes)."""
    magic = src.read(4)
    if len(magic) < 4:
        raise DataError(
            f"{src.name}: too short for an idx file ({len(magic)} bytes, header needs 4)"
        )
    zero, code, ndim = struct.unpack(">HBB", magic)
    if zero != 0 or code not in IDX_DTYPES:
        raise DataError(
            f"{src.name}: bad idx magic number 0x{magic.hex()} (expected 0x0000 followed by a "
            f"type code in {[hex(c) for c in IDX_DTYPES]} and the number of dims); "
            "this is not an idx file"
        )
    if ndim == 0:
        raise DataError(f"{src.name}: idx header declares 0 dimensions; expected at least 1")
    dims = src.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataError(
            f"{src.name}: truncated idx header: {ndim} dimensions need {4 + 4 * ndim} bytes, "
            f"file has {4 + len(dims)}"
        )
    return struct.unpack(f">{ndim}I", dims), IDX_DTYPES[code], 4 + 4 * ndim


def _size_error(src: _Source, what: str, shape, dtype, expected: int, actual: str) -> DataError:
    return DataError(
        f"{src.name}: {what} idx payload: shape {shape} of {dtype.name} needs {expected} "
        f"bytes after the header but {actual} present; the file is corrupt, download it again"
    )


def _check_declared(src: _Source, shape, dtype: np.dtype, header: int, expected: int) -> None:
    """Refuse a declared payload the file cannot hold, before reading any of it."""
    if src.stored is None:
        return
    if not src.gz:
        actual = src.stored - header
        if actual != expected:
            what = "truncated" if actual < expected else "oversized"
            raise _size_error(src, what, shape, dtype, expected, f"{actual} are")
        return
    if expected > MAX_GZIP_RATIO * src.stored + 4096:
        raise DataError(
            f"{src.name}: the idx header declares shape {shape} of {dtype.name} ({expected} "
            f"bytes), more than a {src.stored}-byte gzip file can hold (deflate expands at "
            f"most ~{MAX_GZIP_RATIO}x); the file is corrupt or not an idx file"
        )
    memory = _physical_memory()
    if memory is not None and expected > memory:
        raise DataError(
            f"{src.name}: the idx header declares shape {shape} of {dtype.name}, "
            f"{expected / 2**30:.1f} GiB, more than this machine's memory "
            f"({memory / 2**30:.1f} GiB); the file is corrupt or too large to load"
        )


def _payload(src: _Source, shape, dtype: np.dtype, expected: int) -> np.ndarray:
    """Stream exactly ``expected`` bytes into the array; refuse a shorter or longer stream."""
    out = np.empty(shape, dtype=dtype)
    view, done = memoryview(out.reshape(-1).view(np.uint8)), 0
    while done < expected:
        n = src.readinto(view[done:done + _CHUNK])
        if not n:
            raise _size_error(src, "truncated", shape, dtype, expected, f"{done} are")
        done += n
    if src.read(1):  # also reads to the end of a gzip stream, which checks its CRC
        raise _size_error(src, "oversized", shape, dtype, expected, "more are")
    return out.astype(dtype.newbyteorder("="))


def _read(src: _Source, check: HeaderCheck | None) -> np.ndarray:
    shape, dtype, header = _header(src)
    expected = math.prod(shape) * dtype.itemsize
    _check_declared(src, shape, dtype, header, expected)
    if check is not None:
        check(shape, dtype.newbyteorder("="))
    return _payload(src, shape, dtype, expected)


def parse_idx(raw: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode idx bytes into a native-endian numpy array; ``source`` names it in errors."""
    return _read(_Source(io.BytesIO(raw), source, False, len(raw)), None)


def read_idx(path: str | os.PathLike, check: HeaderCheck | None = None) -> np.ndarray:
    """Read an idx file (plain or gzip) into a numpy array; raise DataError naming the file.

    ``check(shape, dtype)``, if given, sees the header's declared shape and dtype before
    any payload is read (and may raise DataError), e.g. to refuse a file of the wrong kind.
    """
    path = Path(path)
    with _open(path) as src:
        return _read(src, check)


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
