"""gzip files with bytes after the data, or with several members, in every reader: --data
folders (``read_idx``), the cache's checksums (``verify_file``) and downloads.  Each case runs in a
subprocess with a time limit, since the failure these tests guard against is a loop that never
ends (and eats memory as it goes)."""

from __future__ import annotations

import gzip
import hashlib
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from bpnn.data.gzstream import GzipError, GzipInflater

TIME_LIMIT = 30  # seconds; each case takes well under one


def idx_content(n: int = 6000) -> bytes:
    """An IDX file of n 28x28 images, mostly zeros like MNIST: 4.7 MB that gzip shrinks ~100x,
    so a final 64 KB piece of compressed input still inflates to more than one step."""
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    images[:, 10:18, 12:16] = np.arange(n, dtype=np.uint8)[:, None, None]
    return struct.pack(">HBBIII", 0, 8, 3, n, 28, 28) + images.tobytes()


CONTENT = idx_content()
VARIANTS = {
    "trailing garbage": gzip.compress(CONTENT) + b"garbage" * 1000,
    "trailing zeros": gzip.compress(CONTENT) + bytes(100),
    "one stray byte": gzip.compress(CONTENT) + b"\x1f",
    "two members": gzip.compress(CONTENT[:1_000_000]) + gzip.compress(CONTENT[1_000_000:]),
}


def run_bounded(code: str) -> str:
    """Run Python ``code`` in a fresh interpreter; its stdout, or a failure past TIME_LIMIT."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            timeout=TIME_LIMIT,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {TIME_LIMIT} s: a reading loop that never ends")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("variant", VARIANTS)
def test_read_idx_ends(tmp_path, variant):
    path = tmp_path / "images.gz"
    path.write_bytes(VARIANTS[variant])
    out = run_bounded(f"""
        from bpnn.data.idx import read_idx
        from bpnn.errors import FormatError
        try:
            a = read_idx({str(path)!r})
            print("read", a.shape, int(a.sum()))
        except FormatError as exc:
            print("error", exc)
        """)
    if variant == "two members":  # read whole, as gzip -d does
        shape = (6000, 28, 28)
        total = int(np.frombuffer(CONTENT[16:], dtype=np.uint8).sum(dtype=np.int64))
        assert out == f"read {shape} {total}"
    else:
        assert out == f"error {path}: bytes after the end of the gzip data"


@pytest.mark.parametrize("variant", VARIANTS)
def test_checksum_verification_ends(tmp_path, variant):
    path = tmp_path / "images.gz"
    path.write_bytes(VARIANTS[variant])
    out = run_bounded(f"""
        from bpnn.data.registry import MnistFile
        from bpnn.data.verify import verify_file
        spec = MnistFile({len(CONTENT)}, {hashlib.md5(CONTENT).hexdigest()!r}, "0" * 32)
        print(verify_file({str(path)!r}, spec))
        """)
    # the content of two members is the official content; anything after the data is not
    assert out == str(variant == "two members")


def test_inflater_in_small_pieces_matches_gzip():
    data = VARIANTS["two members"]
    inflater, out = GzipInflater(), []
    for i in range(0, len(data), 7):  # piece boundaries fall everywhere, the magic bytes included
        out.extend(inflater.inflate(data[i : i + 7]))
    inflater.finish()
    assert b"".join(out) == CONTENT


@pytest.mark.parametrize("tail,message", [(b"x", "after the end"), (b"", None)])
def test_inflater_finish(tail, message):
    inflater = GzipInflater()
    list(inflater.inflate(gzip.compress(b"abc") + tail))
    if message:
        with pytest.raises(GzipError, match=message):
            inflater.finish()
    else:
        inflater.finish()


def test_inflater_refuses_a_stream_cut_short():
    inflater = GzipInflater()
    list(inflater.inflate(gzip.compress(CONTENT)[:-10]))
    with pytest.raises(GzipError, match="ends early"):
        inflater.finish()
