"""The CSV benchmarks' shared step: a probe script run in a fresh Python on one checkout.

``probe(src, script, what, path)``: runs ``script`` (``python -c``, with the arguments ``what``
and ``path``) with ``src`` on ``PYTHONPATH`` and one BLAS thread, and returns the words it
printed, so each reading starts from a clean process (its peak memory is its own).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def probe(src: Path, script: str, what: str, path: Path) -> list[str]:
    """The words the probe ``script`` printed, run on ``what`` and ``path`` in a fresh Python."""
    env = {**os.environ, "PYTHONPATH": str(src), "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-c", script, what, str(path)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.split()
