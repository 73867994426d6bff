"""Where Numba caches the compiled kernels (``bpnn.fast._kernels``) when it cannot do so as usual.

Numba refuses to compile a ``cache=True`` function (RuntimeError "cannot cache function: no
locator available") when neither the package's folder, nor ``NUMBA_CACHE_DIR``, nor the user's
cache folder under HOME can be written: a read-only install (a container, a shared cluster, a
system package) without a writable HOME.  ``cache_folder`` finds that out before any kernel is
compiled and gives Numba a folder of this user's own in the temporary directory, or says to
compile without a cache.  Imported only with Numba.
"""

from __future__ import annotations

import os
import tempfile

__all__ = ["cache_folder"]


def _probe() -> None:
    """(a function to ask Numba with where it would cache the kernels of a file)"""


def cache_folder(source: str) -> tuple[bool, str | None]:
    """(whether the kernels of the file ``source`` can be cached on disk, why not or where
    instead; None: where Numba caches as usual).

    Numba refuses to compile a ``cache=True`` function (RuntimeError "no locator available")
    when it finds nowhere to write the cache; here the places it looks are asked first, then a
    folder of this user's own in the temporary directory is given to it, else no cache.
    """
    from numba.core import caching, config

    def found() -> bool:
        impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)
        classes = getattr(impl, "_locator_classes", None)
        if classes is None:  # a Numba this does not know: trust it
            return True
        return any(c.from_function(_probe, source) is not None for c in classes)

    try:
        if found():
            return True, None
        folder = os.path.join(tempfile.gettempdir(), f"bpnn-numba-cache-{os.getuid()}")
        os.makedirs(folder, mode=0o700, exist_ok=True)
        info = os.stat(folder, follow_symlinks=False)
        if info.st_uid != os.getuid() or info.st_mode & 0o022 or not os.path.isdir(folder):
            folder = tempfile.mkdtemp(prefix="bpnn-numba-cache-")  # not ours alone: a new one
        config.CACHE_DIR = folder  # type: ignore[attr-defined]  # (read from the environment)
        if found():
            return True, f"compiled code cached in {folder} (the install folder is read-only)"
    except OSError:
        pass
    return False, "compiled without a disk cache: no writable cache folder (each run compiles)"
