"""Shared fixtures: seeded generators, the real MNIST folder, a tiny synthetic MNIST in IDX form.

- ``rng``: a fresh seeded ``numpy.random.Generator`` per test.
- ``mnist_dir``: the real MNIST files (``BPNN_DATA``, else ``../shared/data/mnist``); tests that use
  it are skipped when neither exists.
- ``benchmark_module(monkeypatch, name, ...)``: a script of ``benchmarks/`` imported afresh.
- ``tiny_mnist_dir``: four gzip IDX files in the MNIST layout (240 training and 60 test images of
  28x28, ten learnable classes: digit k lights up a bar at row 2k+4), written here with ``struct``
  so the reader is tested against an independent writer.

Markers: ``slow`` tests run only when ``BPNN_DATA`` is set; ``browser`` tests need Chromium
(``BPNN_REQUIRE_BROWSER=1`` turns a missing browser into a failure instead of a skip).
"""

from __future__ import annotations

import gzip
import importlib
import os
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

from bpnn.activations import HIDDEN_ACTIVATIONS

REPO = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"
# Every activation a hidden layer may have, from the registry: the one list the tests share.
HIDDEN = list(HIDDEN_ACTIVATIONS)
MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def pytest_collection_modifyitems(config, items):
    if os.environ.get("BPNN_DATA"):
        return
    skip = pytest.mark.skip(reason="slow MNIST test: set BPNN_DATA to the MNIST folder to run it")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    folder = Path(os.environ.get("BPNN_DATA") or SHARED_MNIST)
    if not all((folder / name).is_file() for name in MNIST_FILES):
        pytest.skip(f"real MNIST files not found in {folder}")
    return folder


def write_idx_gz(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as a gzip IDX file (magic 0x0000 08 ndim, big-endian dims)."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def synthetic_digits(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n 28x28 uint8 images of ten easy classes and their labels."""
    labels = rng.integers(0, 10, size=n).astype(np.uint8)
    images = (rng.random((n, 28, 28)) * 40).astype(np.uint8)
    for i, k in enumerate(labels):
        row = 2 * int(k) + 4
        images[i, row : row + 2, 4:24] = 200 + rng.integers(0, 55)
    return images, labels


@pytest.fixture(scope="session")
def tiny_mnist_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny_mnist")
    gen = np.random.default_rng(7)
    for prefix, n in (("train", 240), ("t10k", 60)):
        images, labels = synthetic_digits(n, gen)
        write_idx_gz(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx_gz(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return folder


def interrupt_after(monkeypatch, n: int) -> None:
    """A real SIGINT to this process during the n-th stepper call (the real Ctrl-C handler); the
    wrapped stepper passes on what the Trainer calls (``sync``, a device's ``set_deform``)."""
    import signal

    import bpnn.train as train_mod

    make, calls = train_mod.make_stepper, [0]

    def wrapped(*args, **kwargs):
        step = make(*args, **kwargs)

        def call(idx):
            calls[0] += 1
            if calls[0] == n:
                os.kill(os.getpid(), signal.SIGINT)
            return step(idx)

        call.name, call.fallback, call.sync = step.name, step.fallback, step.sync
        call.set_deform = getattr(step, "set_deform", None)
        return call

    monkeypatch.setattr(train_mod, "make_stepper", wrapped)


def benchmark_module(monkeypatch, name: str, *helpers: str):
    """``benchmarks/NAME.py`` imported afresh as a module, with the helper modules beside it
    that it imports (``helpers``) imported afresh too."""
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    for module in (name, *helpers):
        monkeypatch.delitem(sys.modules, module, raising=False)
    return importlib.import_module(name)


def run_cli(capsys, *argv):
    """``bpnn ARGV...`` in this process: (exit status, stdout, stderr); arguments may be paths."""
    from bpnn.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_limited(code: str, memory: int = 1 << 30, timeout: float = 120) -> str:
    """Run ``code`` in a fresh Python under an address-space limit (bytes) and a time limit
    (seconds), against this checkout's src; its stdout (asserting it exited 0)."""
    import os
    import subprocess
    import sys
    import textwrap

    prelude = f"import resource\nresource.setrlimit(resource.RLIMIT_AS, ({memory}, {memory}))\n"
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": src, "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
