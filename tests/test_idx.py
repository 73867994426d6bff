"""IDX reader and writer: round trips, and one clear FormatError for every kind of bad file."""

from __future__ import annotations

import gzip
import struct
import time
import tracemalloc

import numpy as np
import pytest

from bpnn.data import read_idx, write_idx
from bpnn.data.idx import read_idx_header
from bpnn.errors import FormatError


def header(type_byte: int, shape) -> bytes:
    return struct.pack(">HBB", 0, type_byte, len(shape)) + struct.pack(f">{len(shape)}I", *shape)


def write_raw(path, data: bytes):
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize(
    "dtype, shape",
    [
        (np.uint8, (5, 28, 28)),
        (np.int8, (7,)),
        (np.int16, (3, 4)),
        (np.int32, (2, 3, 4, 5)),
        (np.float32, (6, 1)),
        (np.float64, (4, 3)),
        (np.uint8, (0, 28, 28)),
    ],
)
def test_round_trip(tmp_path, rng, dtype, shape, suffix):
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    if info is not None:
        a = rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
    else:
        a = rng.standard_normal(shape).astype(dtype)
    path = tmp_path / f"a.idx{suffix}"
    write_idx(path, a)
    b = read_idx(path)
    assert b.dtype == np.dtype(dtype) and b.shape == shape
    np.testing.assert_array_equal(a, b)
    assert read_idx_header(path) == (np.dtype(dtype), shape)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")


def test_big_endian_on_disk_and_matches_independent_writer(tmp_path):
    a = np.array([[1, -2], [300, 70000]], dtype=np.int32)
    write_idx(tmp_path / "a.idx", a)
    assert (tmp_path / "a.idx").read_bytes() == header(0x0C, (2, 2)) + struct.pack(
        ">4i", 1, -2, 300, 70000
    )
    np.testing.assert_array_equal(
        read_idx(
            write_raw(
                tmp_path / "b.idx", header(0x0C, (2, 2)) + struct.pack(">4i", 1, -2, 300, 70000)
            )
        ),
        a,
    )


def test_gzip_detected_by_magic_bytes_not_name(tmp_path):
    data = header(0x08, (3,)) + bytes([1, 2, 3])
    path = tmp_path / "labels.idx"  # gzip content without a .gz name
    path.write_bytes(gzip.compress(data))
    np.testing.assert_array_equal(read_idx(path), [1, 2, 3])


def test_write_refuses_unsupported(tmp_path):
    with pytest.raises(ValueError, match="uint16"):
        write_idx(tmp_path / "a.idx", np.zeros(3, np.uint16))
    with pytest.raises(ValueError, match="shape"):
        write_idx(tmp_path / "a.idx", np.float64(1.0))
    assert not list(tmp_path.iterdir())


def bad(path, match):
    with pytest.raises(FormatError, match=match) as info:
        read_idx(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return message


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_truncated(tmp_path, suffix):
    bad(
        write_raw(tmp_path / f"t.idx{suffix}", header(0x08, (10, 28, 28)) + bytes(100)),
        "truncated.*7,840.*100",
    )
    bad(write_raw(tmp_path / f"h.idx{suffix}", header(0x08, (10, 28, 28))[:9]), "truncated")
    bad(write_raw(tmp_path / f"e.idx{suffix}", b""), "truncated")


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_trailing_bytes(tmp_path, suffix):
    bad(write_raw(tmp_path / f"t.idx{suffix}", header(0x08, (4,)) + bytes(5)), "after the 4")


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_wrong_magic(tmp_path, suffix):
    data = b"\x01\x00" + header(0x08, (4,))[2:] + bytes(4)
    bad(write_raw(tmp_path / f"m.idx{suffix}", data), "not an IDX file.*0x0100")
    bad(write_raw(tmp_path / f"png{suffix}", b"\x89PNG\r\n\x1a\n" + bytes(20)), "not an IDX file")


@pytest.mark.parametrize("type_byte", [0x00, 0x0A, 0x0F, 0xFF])
def test_wrong_type_byte(tmp_path, type_byte):
    bad(
        write_raw(tmp_path / "t.idx", header(type_byte, (4,)) + bytes(4)),
        f"unknown IDX data type 0x{type_byte:02x}",
    )


def test_no_dimensions(tmp_path):
    bad(write_raw(tmp_path / "d.idx", header(0x08, ()) + bytes(1)), "no dimensions")


def test_dimension_bytes_missing(tmp_path):
    # ndim = 200 promises 800 bytes of dimensions; the file holds 12
    bad(
        write_raw(tmp_path / "d.idx", struct.pack(">HBB", 0, 0x08, 200) + bytes(12)),
        "truncated.*800",
    )


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_oversized_header_refused_before_allocation(tmp_path, suffix):
    path = write_raw(
        tmp_path / f"huge.idx{suffix}", header(0x0E, (2**32 - 1, 2**32 - 1)) + bytes(64)
    )
    tracemalloc.start()
    start = time.perf_counter()
    try:
        message = bad(path, "more than the limit")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 1.0
    assert peak < 1 << 20  # nothing near the promised size was allocated
    assert "4294967295x4294967295" in message


def test_max_bytes_is_configurable(tmp_path):
    path = tmp_path / "a.idx"
    write_idx(path, np.zeros((10, 10), np.uint8))
    bad_msg = pytest.raises(FormatError, read_idx, path, max_bytes=99)
    assert "100 bytes" in str(bad_msg.value)
    assert read_idx(path, max_bytes=100).shape == (10, 10)


def test_corrupt_gzip(tmp_path):
    good = gzip.compress(header(0x08, (1000,)) + bytes(range(256)) * 3 + bytes(232))
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0xFF
    bad(write_raw(tmp_path / "flip.idx", bytes(flipped)), "corrupt gzip|truncated|after")
    cut = tmp_path / "cut.gz"
    cut.write_bytes(good[:-12])  # the stream ends before its end-of-stream marker
    bad(cut, "corrupt gzip|truncated")
    header_only = tmp_path / "junk.gz"
    header_only.write_bytes(b"\x1f\x8b" + bytes(30))
    bad(header_only, "corrupt gzip")


def test_gzip_bomb_is_not_decompressed(tmp_path):
    """A small header promising 10 bytes followed by 200 MB of zeros: refused after 11 bytes."""
    path = tmp_path / "bomb.gz"
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(header(0x08, (10,)))
        for _ in range(200):
            f.write(bytes(1 << 20))
    tracemalloc.start()
    try:
        bad(path, "after the 10")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


def test_missing_file(tmp_path):
    bad(tmp_path / "nothing.idx", "cannot open")
