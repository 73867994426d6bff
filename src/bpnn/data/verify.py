"""Is a file the official one?  ``verify_file(path, spec)``: the md5 of a file's content (gzip or
plain) against a registry entry (``bpnn.data.registry.MnistFile``), or of the .gz as the mirrors
serve it.  A gzip bomb costs nothing: at most the expected size (plus one byte) is inflated.

``Digests`` hashes a stream as it arrives (the downloader's too).  Not here: what the official
files are (``bpnn.data.registry``).
"""

from __future__ import annotations

import hashlib
import os

from ..errors import FormatError
from .gzstream import GZIP_MAGIC, GzipError, GzipInflater
from .registry import MnistFile

__all__ = ["Digests", "verify_file"]

_CHUNK = 1 << 20


class Digests:
    """md5 of a byte stream and, when it is gzip, of its content (every member; at most limit+1
    bytes of it are inflated, so a gzip bomb costs nothing)."""

    def __init__(self, limit: int, inflate: bool):
        self.raw = hashlib.md5()
        self.content = hashlib.md5() if inflate else self.raw
        self.inflater = GzipInflater() if inflate else None
        self.size = 0
        self.limit = limit
        self.broken = False

    def update(self, chunk: bytes) -> None:
        self.raw.update(chunk)
        if self.inflater is None:
            self.size += len(chunk)
            return
        if self.broken:  # past the limit or not gzip: only the raw digest still counts
            return
        try:
            for out in self.inflater.inflate(chunk):
                self.content.update(out)
                self.size += len(out)
                if self.size > self.limit:
                    self.broken = True
                    return
        except GzipError:
            self.broken = True

    def matches(self, spec: MnistFile) -> bool:
        if self.inflater is not None and self.raw.hexdigest() == spec.gz_md5:
            return True
        return (
            not self.broken
            and self._complete()
            and self.size == spec.size
            and self.content.hexdigest() == spec.md5
        )

    def _complete(self) -> bool:
        """Whether the stream ended where its content does (always, for a plain file)."""
        try:
            if self.inflater is not None:
                self.inflater.finish()
            return True
        except GzipError:
            return False


def verify_file(path: str | os.PathLike, spec: MnistFile) -> bool:
    """Whether ``path`` (gzip or plain) holds the official content described by ``spec``."""
    try:
        return _verify(path, spec)
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _verify(path, spec: MnistFile) -> bool:
    with open(path, "rb") as f:
        gz = f.read(2) == GZIP_MAGIC
        if gz:  # fast path: the mirrors' .gz, byte for byte
            f.seek(0)
            if _md5(f) == spec.gz_md5:
                return True
        elif os.fstat(f.fileno()).st_size != spec.size:
            return False
        f.seek(0)
        digests = Digests(spec.size, inflate=gz)
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digests.update(chunk)
            if digests.broken or digests.size > spec.size:
                return False
    return digests.matches(spec)


def _md5(f) -> str:
    h = hashlib.md5()
    for chunk in iter(lambda: f.read(_CHUNK), b""):
        h.update(chunk)
    return h.hexdigest()
