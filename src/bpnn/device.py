"""Where training runs: ``--device cpu|cuda|auto|jax-cpu`` and ``--threads N``.

- ``cpu``: NumPy and the compiled Numba paths (``bpnn.fast``), exactly as without this module;
- ``cuda``: bpnn's own backpropagation as one compiled JAX program per chunk of steps on an
  NVIDIA GPU (``bpnn.accel``); needs the ``gpu`` extra (``pip install 'bpnn[gpu]'``);
- ``auto``: ``cuda`` when JAX sees a usable CUDA device, else ``cpu``, quietly;
- ``jax-cpu``: the same JAX program on JAX's CPU backend (what the tests run without a GPU).

``resolve_device`` turns the name into a ``Device`` or one ``DeviceError`` line saying why the GPU
cannot be used (JAX missing, no device, a driver problem in JAX's own words).
``limit_threads`` sets the threads of Numba's parallel kernels and of the BLAS library for a
block of code (default: every core the process may use).

Not here: the JAX program itself (``bpnn.accel``), the choice of stepper (``bpnn.steppers``).
"""

from __future__ import annotations

import functools
import os
from contextlib import contextmanager
from dataclasses import dataclass

from .errors import BpnnError

__all__ = [
    "DEVICES",
    "Device",
    "DeviceError",
    "cuda_problem",
    "default_threads",
    "limit_threads",
    "resolve_device",
    "threads_in_effect",
]

DEVICES = ("cpu", "cuda", "auto", "jax-cpu")
GPU_EXTRA = "pip install 'bpnn[gpu]'"


class DeviceError(BpnnError):
    """The device asked for cannot be used (one line saying why)."""


@dataclass(frozen=True)
class Device:
    """A resolved device: ``name`` is cpu, cuda or jax-cpu; ``note`` says why ``auto`` chose
    the CPU (None otherwise)."""

    name: str
    note: str | None = None

    @property
    def uses_jax(self) -> bool:
        return self.name != "cpu"

    def jax_device(self):
        """The JAX device object (imports JAX)."""
        import jax

        return jax.devices("cpu" if self.name == "jax-cpu" else "cuda")[0]

    def describe(self) -> str:
        if not self.uses_jax:
            return "cpu (NumPy/Numba)" + (f"; {self.note}" if self.note else "")
        return f"{self.name} (JAX {_jax_version()}: {self.jax_device().device_kind})"


def _jax_version() -> str:
    import jax

    return jax.__version__


def cuda_problem() -> str | None:
    """Why JAX cannot train on a CUDA GPU here (one line), or None when it can."""
    try:
        import jax
    except ImportError:
        return f"jax is not installed ({GPU_EXTRA})"
    try:
        devices = jax.devices("cuda")
    except RuntimeError as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "Unknown backend" in text or "no platforms" in text:
            return f"no CUDA device visible to JAX (is its CUDA plugin installed? {GPU_EXTRA})"
        return f"JAX cannot use the GPU: {text}"
    if not devices:
        return "no CUDA device visible to JAX"
    return None


def jax_problem() -> str | None:
    """Why JAX's CPU backend cannot run here, or None."""
    try:
        import jax
    except ImportError:
        return "jax is not installed (pip install jax)"
    try:
        jax.devices("cpu")
    except RuntimeError as exc:
        return f"JAX's CPU backend failed: {exc}"
    return None


def resolve_device(name: str, dtype: str = "float32") -> Device:
    """The device for ``name`` (one of ``DEVICES``) and a network of ``dtype``.

    ``cuda`` and ``jax-cpu`` raise DeviceError when they cannot run (the JAX program trains
    float32 networks only); ``auto`` then quietly falls back to the CPU.
    """
    if name not in DEVICES:
        raise DeviceError(f"unknown device {name!r}; choose one of {', '.join(DEVICES)}")
    if name == "cpu":
        return Device("cpu")
    wanted = "cuda" if name == "auto" else name
    problem = cuda_problem() if wanted == "cuda" else jax_problem()
    if problem is None and str(dtype) != "float32":
        problem = f"the JAX path trains float32 networks only, this one is {dtype}"
    if problem is None:
        return Device(wanted)
    if name == "auto":
        return Device("cpu", note=f"no GPU: {problem}")
    raise DeviceError(f"--device {name}: {problem}")


def default_threads() -> int:
    """Every core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def threads_in_effect() -> int:
    """Numba's thread count when Numba is there, else every core this process may use."""
    try:
        import numba
    except ImportError:
        return default_threads()
    return numba.get_num_threads()


def check_threads(threads) -> int | None:
    """``threads`` as an int >= 1 (None stays None: all cores), or a ValueError."""
    if threads is None:
        return None
    if isinstance(threads, bool) or int(threads) != threads or threads < 1:
        raise ValueError(f"threads must be a whole number >= 1, got {threads}")
    return int(threads)


@contextmanager
def limit_threads(threads: int | None):
    """Run a block with ``threads`` threads for Numba's parallel kernels and the BLAS library;
    restores the previous settings afterwards.  None leaves both as they are: every core, unless
    the environment says otherwise (``OPENBLAS_NUM_THREADS``, ``NUMBA_NUM_THREADS``...).

    Yields the number in effect.  Numba cannot go above the threads it started with
    (``NUMBA_NUM_THREADS``, all cores by default); JAX's CPU backend keeps its own pool.
    """
    n = check_threads(threads)
    if n is None:  # threads=None: leave Numba and BLAS as they are
        yield threads_in_effect()
        return
    numba_before = _numba_threads(n)
    try:
        with blas_threads(n):
            yield n
    finally:
        if numba_before is not None:
            import numba

            numba.set_num_threads(numba_before)


def _numba_threads(n: int) -> int | None:
    """Set Numba's threads to n (capped at its maximum); returns the previous number."""
    try:
        import numba
    except ImportError:
        return None
    before = numba.get_num_threads()
    # (numba.config sets its settings at import time: no attributes for mypy to see)
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]
    return before


@contextmanager
def blas_threads(n: int | None):
    """Run a block with the BLAS library on n threads (None: as it is), restored afterwards."""
    controller = None if n is None else _controller()
    limiter = None if controller is None else controller.limit(limits=n, user_api="blas")
    try:
        yield
    finally:
        if limiter is not None:
            limiter.restore_original_limits()


@functools.cache
def _controller():
    """threadpoolctl's view of the thread pools loaded (NumPy's BLAS among them), found once: a
    search of every loaded library, 0.1 s in a process that has loaded pandas and Numba."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # the BLAS keeps its own default (every core)
        return None
    return ThreadpoolController()
