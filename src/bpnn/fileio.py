"""Writing files safely: ``atomic_write`` leaves either the old file or the new one, never half;
``lock_folder`` makes one process the only writer of a folder; ``clean_temps`` removes what
killed writers left.

Not here: what the files hold (``bpnn.modelfile``, ``bpnn.runstate``, ``bpnn.data.idx``,
``bpnn.report``).
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
from pathlib import Path

from .errors import BpnnError

__all__ = ["LOCK_NAME", "atomic_write", "clean_temps", "lock_folder", "unlock_folder"]

LOCK_NAME = ".bpnn.lock"
# atomic_write's temporary names: "." + the file's name + "." + mkstemp's 8 characters + ".tmp"
TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
_held: dict[Path, list] = {}  # folder -> [open lock file, holds] of this process


def atomic_write(path: str | os.PathLike, write) -> None:
    """Call ``write(fileobj)`` on a temporary file beside ``path``, fsync it, rename it over path.

    The file gets the permissions any new file would (0666 less the umask), not the 0600 of
    ``tempfile.mkstemp``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fchmod(f.fileno(), 0o666 & ~_umask())
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def _umask() -> int:
    """The process's umask (reading it means setting it; it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the system allows it)."""
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def lock_folder(folder: str | os.PathLike, what: str = "run") -> None:
    """Make this process the one writer of ``folder`` (made if missing), or BpnnError in one
    line when another process writes there.

    An OS lock (``flock``) on ``folder/.bpnn.lock``: it dies with its process, so a killed run
    leaves nothing locked.  Held again by the same process it only counts (``unlock_folder``
    once per ``lock_folder``).  Temporary files of killed writers are removed once it is held.
    """
    path = Path(folder).absolute()
    if path in _held:
        _held[path][1] += 1
        return
    path.mkdir(parents=True, exist_ok=True)
    f = open(path / LOCK_NAME, "a+")
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.seek(0)
        pid = f.read().strip()[:20] or "?"
        f.close()
        raise BpnnError(
            f"{folder} is in use: another bpnn process (pid {pid}) is writing its {what} there; "
            f"wait for it to end or choose another folder"
        ) from None
    f.truncate(0)
    f.write(str(os.getpid()))
    f.flush()
    _held[path] = [f, 1]
    clean_temps(path)


def unlock_folder(folder: str | os.PathLike, *, every: bool = False) -> None:
    """Give up one hold of ``lock_folder(folder)`` (``every``: all of them); the last one frees
    the folder."""
    path = Path(folder).absolute()
    held = _held.get(path)
    if held is None:
        return
    held[1] = 0 if every else held[1] - 1
    if held[1] <= 0:
        del _held[path]
        held[0].close()  # closing the file frees the lock


def clean_temps(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files ``atomic_write`` left in ``folder`` when its process was
    killed (only names of its own pattern); returns them.  Call it only holding the folder."""
    removed: list[Path] = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for entry in entries:
        if TEMP_NAME.match(entry.name) and entry.is_file() and not entry.is_symlink():
            try:
                entry.unlink()
                removed.append(entry)
            except OSError:
                pass
    return removed
