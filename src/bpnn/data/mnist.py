"""Finding MNIST and its kin: the folder holding a registered data set's four files, checked, and
downloaded into the cache when missing.

Where bpnn looks (``find_mnist``): the folder named by the caller (the CLI's ``--data``), else the
``BPNN_DATA`` environment variable, else a per-user cache folder (``$XDG_CACHE_HOME/bpnn/mnist``,
by default ``~/.cache/bpnn/mnist``).  ``find_dataset(name)`` does for each registered set
(``DATASETS``: mnist, fashion-mnist, kmnist) what ``find_mnist`` does for MNIST (only MNIST
honours ``BPNN_DATA``), caching in ``.../bpnn/<name>``.

- A folder named explicitly may hold any IDX data set of MNIST's shape (Fashion-MNIST, say): its
  files are checked for structure, and checksums that differ from the official MNIST only give a
  notice.
- The cache is verified strictly: md5 of the decompressed bytes, or of the .gz as the mirrors
  serve it.  Missing or corrupt files are downloaded from the public mirrors (the next mirror on
  failure), verified, and written atomically; offline, one error says which files to put where.

Not here: the registry (``bpnn.data.registry``), verifying (``bpnn.data.verify``), downloading
(``bpnn.data.download``), reading the folders (``bpnn.data.folder``), the IDX format
(``bpnn.data.idx``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from ..errors import BpnnError, FormatError
from .download import download_dataset, where_to_put
from .folder import SPLITS, check_pair, locate
from .idx import read_idx_header
from .registry import DATASETS, Registered, registered
from .verify import verify_file

__all__ = ["DATASETS", "cache_dir", "find_dataset", "find_mnist"]


Notice = Callable[[str], None]


def _stderr_notice(message: str) -> None:
    print(f"bpnn: notice: {message}", file=sys.stderr)


def cache_dir(environ: Mapping[str, str] | None = None, name: str = "mnist") -> Path:
    """The per-user cache of data set ``name``: ``$XDG_CACHE_HOME/bpnn/<name>``, else
    ``~/.cache/bpnn/<name>``."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bpnn" / name


def find_mnist(
    data_dir: str | os.PathLike | None = None,
    *,
    download: bool = True,
    progress: bool | None = None,
    notice: Notice | None = None,
) -> Path:
    """The folder holding the four MNIST files, checked; downloads into the cache when needed.

    ``data_dir`` (the CLI's ``--data``) wins, then ``$BPNN_DATA``, then ``cache_dir()``.
    ``progress``: None shows a download bar only on a terminal, False never, True always.
    ``notice(message)`` receives non-fatal remarks (default: a line on stderr).
    Raises ``BpnnError`` (``FormatError`` for bad files) with one message saying what to do.
    """
    return find_dataset("mnist", data_dir, download=download, progress=progress, notice=notice)


def find_dataset(
    name: str,
    data_dir: str | os.PathLike | None = None,
    *,
    download: bool = True,
    progress: bool | None = None,
    notice: Notice | None = None,
) -> Path:
    """The folder holding the four files of registered data set ``name`` (see ``find_mnist``).

    ``data_dir`` wins, then the set's environment variable (MNIST: ``$BPNN_DATA``), then
    ``cache_dir(name=name)``, downloading into it when needed.  KeyError for an unknown name.
    """
    spec = registered(name)
    notice = notice or _stderr_notice
    if data_dir is not None and str(data_dir) != "":
        return _check_folder(Path(data_dir), "--data", notice, spec)
    if spec.env_var and os.environ.get(spec.env_var):
        return _check_folder(Path(os.environ[spec.env_var]), spec.env_var, notice, spec)
    return _cached(cache_dir(os.environ, name), download, progress, notice, spec)


def _check_folder(folder: Path, source: str, notice: Notice, data: Registered) -> Path:
    """An explicitly named folder: four files of MNIST's structure; other checksums: a notice."""
    if not folder.is_dir():
        raise BpnnError(
            f"{folder} (named with {source}) is not a folder: it should hold the four "
            f"{data.title} files {data.names}"
        )
    located = {name: locate(folder, name) for name in data.files}
    paths = {name: path for name, path in located.items() if path is not None}
    missing = [name for name in located if name not in paths]
    if missing:
        raise BpnnError(
            f"{folder} (named with {source}) lacks {', '.join(missing)}: it should "
            f"hold the four {data.title} files {data.names} (gzip or not)"
        )
    for prefix in SPLITS.values():
        images, labels = (
            paths[f"{prefix}-{kind}.gz"] for kind in ("images-idx3-ubyte", "labels-idx1-ubyte")
        )
        check_pair(images, read_idx_header(images), labels, read_idx_header(labels))
    different = [name for name, path in paths.items() if not verify_file(path, data.files[name])]
    if different:
        notice(
            f"{folder}: {', '.join(different)} differ from the official {data.title} "
            f"(checksums); using them as they are"
        )
    return folder


def _cached(
    folder: Path, download: bool, progress: bool | None, notice: Notice, data: Registered
) -> Path:
    """The cache folder, every file verified strictly; missing or corrupt ones downloaded."""
    todo = {}
    for name, spec in data.files.items():
        path = folder / name
        if not path.is_file():
            todo[name] = spec
        elif not verify_file(path, spec):
            if not download:
                raise FormatError(
                    f"{path}: checksum differs from the official {data.title} file: "
                    f"delete it and bpnn will download it again"
                )
            notice(
                f"{path}: checksum differs from the official {data.title} file; downloading "
                f"it again"
            )
            todo[name] = spec
    if todo and not download:
        raise BpnnError(
            f"{data.title} is not in {folder} (missing {', '.join(todo)}) and "
            f"downloading is off: {where_to_put(folder, data)}"
        )
    if todo:
        download_dataset(data.name, folder, files=todo, progress=progress)
    return folder
