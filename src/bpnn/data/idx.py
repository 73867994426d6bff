"""The IDX file format (LeCun's MNIST files): read and write, plain or gzip, checked strictly.

An IDX file is two zero bytes, a type byte, a byte giving the number of dimensions, each dimension
as a 4-byte big-endian unsigned integer, then the items in C order (big-endian for multi-byte
types).  ``read_idx`` checks every part of that and insists that the file holds exactly the bytes
its header promises; anything else is a ``FormatError`` naming the file and the problem.  A header
that claims more than ``max_bytes`` of data is refused before anything is allocated, and a gzip
file is decompressed as a stream of at most the promised bytes plus one, so a forged header or a
gzip bomb cannot exhaust memory.  A gzip file may hold several members (read in turn, as
``gzip -d`` does) but nothing after them (``bpnn.data.gzstream``).

Not here: what the arrays mean (``bpnn.data.mnist``).
"""

from __future__ import annotations

import gzip
import io
import math
import os
import struct
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import FormatError
from ..fileio import atomic_write
from ..limits import MAX_IDX_BYTES
from .gzstream import GZIP_MAGIC, GzipError, GzipReader

__all__ = ["DEFAULT_MAX_BYTES", "IDX_TYPES", "read_idx", "read_idx_header", "write_idx"]

# type byte -> big-endian dtype (the IDX specification's six types)
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
DEFAULT_MAX_BYTES = MAX_IDX_BYTES
_CHUNK = 1 << 20


def _open(path: Path):
    """A binary file object on ``path``, decompressing on the fly when it starts as gzip does."""
    f = open(path, "rb")
    if f.read(2) == GZIP_MAGIC:
        f.seek(0)
        return io.BufferedReader(GzipReader(f)), f
    f.seek(0)
    return f, f


def _read_exact(f, n: int, path: Path, what: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise FormatError(
            f"{path}: truncated IDX file (the {what} needs {n} bytes, the file holds {len(data)})"
        )
    return data


def _parse_header(f, path: Path) -> tuple[np.dtype, tuple[int, ...]]:
    zero, type_byte, ndim = struct.unpack(">HBB", _read_exact(f, 4, path, "header"))
    if zero != 0:
        raise FormatError(
            f"{path}: not an IDX file (the magic number must start with two zero "
            f"bytes, found 0x{zero:04x})"
        )
    if type_byte not in IDX_TYPES:
        raise FormatError(
            f"{path}: unknown IDX data type 0x{type_byte:02x} (known: "
            f"{', '.join(f'0x{t:02x}' for t in IDX_TYPES)})"
        )
    if ndim == 0:
        raise FormatError(f"{path}: IDX header declares no dimensions")
    shape = struct.unpack(f">{ndim}I", _read_exact(f, 4 * ndim, path, f"{ndim}-dimension header"))
    return IDX_TYPES[type_byte], tuple(shape)


@contextmanager
def _idx_stream(path: Path):
    """Open an IDX file and parse its header: yields (stream, raw file, dtype, shape).

    Failures to open or read, and corrupt gzip data (also while the caller reads), become
    FormatError naming the file.
    """
    try:
        outer, raw = _open(path)
    except OSError as exc:
        raise FormatError(f"{path}: cannot open ({exc.strerror or exc})") from None
    try:
        with raw, outer:
            dtype, shape = _parse_header(outer, path)
            yield outer, raw, dtype, shape
    except GzipError as exc:
        raise FormatError(f"{path}: {exc}") from None
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror or exc})") from None


def read_idx_header(path: str | os.PathLike) -> tuple[np.dtype, tuple[int, ...]]:
    """(dtype, shape) from an IDX file's header alone (dtype in native byte order), no data read."""
    with _idx_stream(Path(path)) as (_, _, dtype, shape):
        return dtype.newbyteorder("="), shape


def read_idx(path: str | os.PathLike, max_bytes: int = DEFAULT_MAX_BYTES) -> np.ndarray:
    """The array stored in an IDX file (plain or gzip), in native byte order.

    Shape and dtype come from the header (MNIST images: ``(n, 28, 28)`` uint8; labels ``(n,)``).
    Raises ``FormatError`` for a missing, truncated, over-long, corrupt or wrong-kind file and for a
    header promising more than ``max_bytes`` of data (checked before anything is allocated).
    """
    path = Path(path)
    with _idx_stream(path) as (outer, raw, dtype, shape):
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes > max_bytes:
            raise FormatError(
                f"{path}: IDX header promises {'x'.join(map(str, shape))} items "
                f"({nbytes:,} bytes), more than the limit of {max_bytes:,} bytes"
            )
        if outer is raw:  # a plain file: its size tells truncation before any allocation
            _check_plain_size(raw, path, nbytes)
        data = np.empty(nbytes, dtype=np.uint8)
        _fill(outer, data.data, path)
        if outer.read(1):
            raise FormatError(
                f"{path}: IDX file has bytes after the {nbytes:,} its header promises"
            )
    return data.view(dtype).astype(dtype.newbyteorder("="), copy=False).reshape(shape)


def _check_plain_size(f, path: Path, nbytes: int) -> None:
    have = os.fstat(f.fileno()).st_size - f.tell()
    if have < nbytes:
        raise FormatError(
            f"{path}: truncated IDX file (the header promises {nbytes:,} bytes of "
            f"data, the file holds {have:,})"
        )
    if have > nbytes:
        raise FormatError(
            f"{path}: IDX file has {have - nbytes:,} bytes after the {nbytes:,} its header promises"
        )


def _fill(f, buf: memoryview, path: Path) -> None:
    """Read exactly len(buf) bytes into buf, in chunks (never a second full copy in memory)."""
    pos = 0
    while pos < len(buf):
        n = f.readinto(buf[pos : pos + _CHUNK])
        if not n:
            raise FormatError(
                f"{path}: truncated IDX file (the header promises {len(buf):,} "
                f"bytes of data, the file holds {pos:,})"
            )
        pos += n


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` (any shape, an IDX dtype) as an IDX file, gzip when the name ends in .gz.

    The file is written atomically (temporary file, fsync, rename).
    """
    path = Path(path)
    array = np.asarray(array)
    codes = {dt.newbyteorder("="): code for code, dt in IDX_TYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        raise ValueError(
            f"IDX cannot store dtype {array.dtype} (it stores uint8, int8, int16, "
            f"int32, float32 and float64)"
        )
    if not 1 <= array.ndim <= 255 or any(d >= 1 << 32 for d in array.shape):
        raise ValueError(f"IDX cannot store shape {array.shape} (1 to 255 dimensions, each < 2^32)")
    code = codes[native]
    header = struct.pack(">HBB", 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    flat = np.ascontiguousarray(array, dtype=IDX_TYPES[code]).reshape(-1)
    payload = flat.view(np.uint8).data

    def write(f: io.BufferedIOBase) -> None:
        if path.name.endswith(".gz"):
            with gzip.GzipFile(fileobj=f, mode="wb", compresslevel=6, mtime=0) as gz:
                gz.write(header)
                gz.write(payload)
        else:
            f.write(header)
            f.write(payload)

    atomic_write(path, write)
