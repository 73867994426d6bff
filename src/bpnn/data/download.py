"""Downloading a registered data set: each file from the first of its mirrors that serves it with
the right checksum, verified as it streams, written atomically (a failed or corrupt download
leaves no file behind); when every mirror fails, one error says which files to put where
(``where_to_put``).

Not here: when to download (``bpnn.data.mnist``), what the files are (``bpnn.data.registry``).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from http.client import HTTPException
from pathlib import Path

from ..errors import BpnnError
from ..fileio import atomic_write
from .registry import MnistFile, Registered, registered
from .verify import Digests

__all__ = ["download_dataset", "download_mnist", "where_to_put"]


def where_to_put(folder: Path, data: Registered) -> str:
    """What to do when ``data`` cannot be downloaded into ``folder``: put the files there."""
    where = (
        f"any folder named with --data DIR or the {data.env_var} environment variable"
        if data.env_var
        else "any folder and name that folder as the data source"
    )
    return (
        f"put the four files {data.names} (from {data.mirrors[0]} or another "
        f"{data.title} mirror) in {folder}, or in {where}"
    )


class _ChecksumError(Exception):
    pass


def download_mnist(dest: str | os.PathLike, **options) -> Path:
    """Download the four MNIST files into ``dest``, verified, atomically.

    ``options``: those of ``download_dataset`` (``mirrors``, ``files``, ``progress``,
    ``timeout``).  Each file comes from the first of ``mirrors`` (default ``MIRRORS``) that serves
    it with the right checksum.  A failed or corrupt download leaves no file behind.  When every
    mirror fails, raises ``BpnnError`` saying which files to put where.
    """
    return download_dataset("mnist", dest, **options)


def download_dataset(
    dataset: str,
    dest: str | os.PathLike,
    *,
    mirrors: Iterable[str] | None = None,
    files: Mapping[str, MnistFile] | None = None,
    progress: bool | None = None,
    timeout: float = 30.0,
) -> Path:
    """Download ``files`` (default: the data set's own) of registered data set ``dataset`` into
    ``dest`` from the first of ``mirrors`` (default: its own) that serves each with the right
    checksum; ``progress``: a download bar (None: only on a terminal); ``timeout`` in seconds."""
    data = registered(dataset)
    dest = Path(dest)
    mirrors = list(data.mirrors if mirrors is None else mirrors)
    for name, spec in (data.files if files is None else files).items():
        failures = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + "/" + name
            try:
                _fetch(url, dest / name, spec, progress, timeout)
                break
            except (OSError, HTTPException, ValueError, _ChecksumError) as exc:
                failures.append(f"{url}: {_reason(exc)}")
        else:
            raise BpnnError(
                f"{data.title} is not in {dest} and could not be downloaded "
                f"({'; '.join(failures) or 'no mirrors'}): "
                f"{where_to_put(dest, data)}"
            )
    return dest


def _reason(exc: Exception) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return str(exc) or type(exc).__name__


def _fetch(url: str, path: Path, spec: MnistFile, progress: bool | None, timeout: float) -> None:
    """Stream ``url`` into ``path`` atomically, hashing as it goes; _ChecksumError if wrong."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        digests = Digests(spec.size, inflate=True)
        limit = spec.size + (1 << 20)  # a .gz is never much larger than its content

        def write(f) -> None:
            with _progress_bar(progress, response.length, path.name) as bar:
                got = 0
                for chunk in iter(lambda: response.read(1 << 16), b""):
                    got += len(chunk)
                    if got > limit:
                        raise _ChecksumError(f"more than {limit:,} bytes: not the MNIST file")
                    f.write(chunk)
                    digests.update(chunk)
                    bar.update(len(chunk))
            if not digests.matches(spec):
                raise _ChecksumError("checksum differs from the official MNIST file")

        atomic_write(path, write)


class _NoBar:
    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def update(self, n: int) -> None:
        pass


def _progress_bar(progress: bool | None, total: int | None, name: str):
    """A tqdm bar on stderr (None: only on a terminal), or a silent stand-in without tqdm."""
    if progress is False:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(
        total=total,
        desc=f"downloading {name}",
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        leave=False,
        file=sys.stderr,
        disable=None if progress is None else False,
    )
