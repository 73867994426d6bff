"""The speed benchmark as a script: ``python benchmarks/bench.py [--json] [--out FILE] [--quick]``.

The same as ``bpnn bench`` (see ``bpnn.commands.bench``), except that without ``--data`` and
``BPNN_DATA`` it looks for MNIST in ``../shared/data/mnist`` beside the repository first.
"""

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from bpnn.commands.bench import main  # noqa: E402

if __name__ == "__main__":
    argv = sys.argv[1:]
    shared = REPO.parent / "shared" / "data" / "mnist"
    if "--data" not in argv and not os.environ.get("BPNN_DATA") and shared.is_dir():
        argv = ["--data", str(shared)] + argv
    sys.exit(main(argv))
