"""Issue 20 item 18: the compiled paths where the package is installed read-only and HOME cannot
be written (a container, a shared cluster, a system package): Numba's cache goes to a private
temporary folder instead of failing with "cannot cache function: no locator available".

The read-only install is a read-only bind mount in a private mount namespace (``unshare``), so
the test holds for root too; it is skipped where namespaces are not allowed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import bpnn

pytest.importorskip("numba")

PACKAGE = Path(bpnn.__file__).resolve().parent

SCRIPT = """
import numpy as np
import bpnn.fast._kernels as k
out = np.zeros((2, 3))
k.gather_rows(np.arange(12.0).reshape(4, 3), np.array([3, 1]), 2, out)
assert out[0, 0] == 9.0 and out[1, 2] == 5.0
print(k.CACHE, k.CACHE_NOTE)
"""


def _namespaces() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=30)
    return probe.returncode == 0


@pytest.mark.skipif(not _namespaces(), reason="needs unshare (user and mount namespaces)")
def test_compiled_paths_work_from_a_read_only_install_without_a_home(tmp_path):
    install = tmp_path / "install"
    shutil.copytree(PACKAGE, install / "bpnn", ignore=shutil.ignore_patterns("__pycache__"))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "XDG_", "PYTHON"))}
    env.update(PYTHONPATH=str(install), HOME=str(install), TMPDIR=str(tmp))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    command = f'mount --bind -o ro {install} {install} && exec {sys.executable} -c "$BPNN_SCRIPT"'
    result = subprocess.run(
        ["unshare", "-rm", "sh", "-c", command],
        env={**env, "BPNN_SCRIPT": SCRIPT},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("True compiled code cached in"), result.stdout
    assert any(tmp.glob("bpnn-numba-cache-*/**/*.nbi"))  # the cache was written there


def _train_log(**settings) -> str:
    """The log of a small compiled run (bpnn.fit's lines, captured)."""
    import numpy as np

    lines: list[str] = []
    X = np.random.default_rng(0).normal(size=(64, 3))
    bpnn.fit(X, X[:, 0] > 0, epochs=1, log=lines.append, **settings)
    return "\n".join(lines)


COMPILING = "numba: compiling the kernels (first run only: cached for the next)"
PER_SAMPLE = dict(batch_size=1, optimizer="sgd", lr=0.1, dropout=0.0)


def test_the_log_says_when_the_kernels_are_compiled(monkeypatch):
    """A first run compiles its path's kernels before its first epoch: a pause the log
    explains; a run that finds them cached says nothing of it."""
    import bpnn.fast._kernels as k

    if not k.CACHE:
        pytest.skip(f"no disk cache here: {k.CACHE_NOTE}")
    _train_log(), _train_log(**PER_SAMPLE)  # compiled and cached now, if not before
    assert k.compiled_before(["update", "sgd_samples"])
    assert COMPILING not in _train_log() + _train_log(**PER_SAMPLE)
    cache_file = k.sgd_samples._cache._cache_file  # the per-sample kernel: never cached
    monkeypatch.setattr(cache_file, "_index_path", "/nonexistent/k.nbi")
    assert not k.compiled_before(["sgd_samples"])
    assert COMPILING not in _train_log()  # the mini-batch path's kernels are cached
    log = _train_log(**PER_SAMPLE)
    assert "training path: numba-per-sample" in log and COMPILING in log
