"""gzip decompression in bounded steps: every member in turn, and nothing after the last one.

zlib's ``decompressobj`` stops at the end of the first gzip member and keeps what follows in
``unused_data``; a loop that keeps feeding it its ``unconsumed_tail`` after that never ends.
``GzipInflater`` reads each member in turn, as ``gzip -d`` does (so a file that ``gzip -t``
accepts reads whole), refuses bytes after the last member that do not begin another one, and
hands out the content in pieces of at most ``STEP`` bytes (so a gzip bomb costs nothing until
the caller asks for more).  ``GzipReader`` is the same as a readable binary file.

Not here: what the content means (``bpnn.data.idx``) or its checksums (``bpnn.data.mnist``).
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from typing import BinaryIO

__all__ = ["GZIP_MAGIC", "STEP", "GzipError", "GzipInflater", "GzipReader"]

GZIP_MAGIC = b"\x1f\x8b"
STEP = 1 << 16  # bytes of content (and of compressed input) handled at a time


class GzipError(ValueError):
    """Not valid gzip data: corrupt, cut short, or followed by other bytes."""


def _member():
    return zlib.decompressobj(wbits=31)  # 31: a gzip header and trailer, checked


class GzipInflater:
    """Decompresses a gzip stream pushed in pieces with ``inflate``; ``finish`` at its end."""

    def __init__(self):
        self._z = _member()
        self._held = b""  # one byte after a member: too little to tell whether another begins

    def inflate(self, data: bytes) -> Iterator[bytes]:
        """The content that ``data``, the next part of the stream, completes, in pieces of at most
        STEP bytes.  Raises GzipError for corrupt data or for bytes after the last member."""
        data = self._held + data
        self._held = b""
        while data:
            if self._z.eof:  # a member has ended: only another member may follow
                if len(data) < len(GZIP_MAGIC):
                    self._held = data
                    return
                if not data.startswith(GZIP_MAGIC):
                    raise GzipError("bytes after the end of the gzip data")
                self._z = _member()
            try:
                out = self._z.decompress(data, STEP)
            except zlib.error as exc:
                raise GzipError(f"corrupt gzip data ({exc})") from None
            data = self._z.unused_data if self._z.eof else self._z.unconsumed_tail
            if out:
                yield out

    def finish(self) -> None:
        """GzipError unless the stream ended exactly at the end of a member."""
        if self._held:
            raise GzipError("bytes after the end of the gzip data")
        if not self._z.eof:
            raise GzipError("gzip data ends early (truncated or cut off)")


class GzipReader(io.RawIOBase):
    """The decompressed content of the gzip file object ``raw``, as a readable binary stream
    (wrap it in ``io.BufferedReader`` for ``read(n)``).  Reads raise GzipError for bad data."""

    def __init__(self, raw: BinaryIO):
        self._raw = raw
        self._inflater = GzipInflater()
        self._pieces: Iterator[bytes] = iter(())
        self._piece = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        while not self._piece:
            piece = next(self._pieces, None)
            if piece is None:
                chunk = self._raw.read(STEP)
                if not chunk:
                    self._inflater.finish()
                    return 0
                self._pieces = self._inflater.inflate(chunk)
            else:
                self._piece = memoryview(piece)
        n = min(len(buf), len(self._piece))
        buf[:n] = self._piece[:n]
        self._piece = self._piece[n:]
        return n
