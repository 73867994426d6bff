"""Peak memory of reading MNIST's training set as a CSV file against reading it from IDX files.

    python benchmarks/csv_memory.py --data /work/shared/data/mnist [--src OTHER/src]

Writes the 60,000 training images as a CSV file (784 pixel columns and a label column, about
110 MB; kept in the system's temporary folder between runs), then reads it, and the IDX folder,
each in a fresh Python, and prints the peak resident memory of each (VmHWM, reset after the
imports), the part of it reading added, and the size of the arrays read (Linux only).
``--src`` measures another checkout (its ``src`` folder), to compare before and after a change.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from _peak import probe

SRC = Path(__file__).resolve().parents[1] / "src"

PROBE = """
import sys
from pathlib import Path
from bpnn.data.sources import load_source
from bpnn.data.folder import load_idx_folder

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024

what, path = sys.argv[1], Path(sys.argv[2])
with open("/proc/self/clear_refs", "w") as f:  # peak RSS from here on (Linux)
    f.write("5")
before = status("VmRSS")
if what == "csv":
    data = load_source(path)
    X, y = data.X_train, data.y_train
else:
    X, y, _ = load_idx_folder(path, "train")
print(status("VmHWM"), before, X.nbytes + y.nbytes)
"""


def write_csv(folder: Path, path: Path) -> None:
    """MNIST's training images and labels as CSV: p0..p783,label, one row per image."""
    sys.path.insert(0, str(SRC))
    from bpnn.data.folder import load_idx_folder

    X, y, _ = load_idx_folder(folder, "train")
    table = np.column_stack([X, y]).astype(np.int64)
    header = ",".join([*(f"p{j}" for j in range(X.shape[1])), "label"])
    tmp = path.with_suffix(".part")
    with open(tmp, "w") as f:
        f.write(header + "\n")
        for start in range(0, len(table), 5000):
            np.savetxt(f, table[start : start + 5000], fmt="%d", delimiter=",")
    tmp.rename(path)


def peak(src: Path, what: str, path: Path) -> tuple[int, int, int]:
    """(peak RSS while reading, RSS before reading, bytes of the arrays read) in a fresh Python."""
    out = probe(src, PROBE, what, path)
    return int(out[0]), int(out[1]), int(out[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="MNIST's IDX folder")
    parser.add_argument("--src", type=Path, default=SRC, help="the bpnn src folder to measure")
    args = parser.parse_args()
    csv_path = Path(tempfile.gettempdir()) / "bpnn-mnist-train.csv"
    if not csv_path.exists():
        write_csv(args.data, csv_path)
    mb = 1 << 20
    print(f"bpnn from {args.src}; CSV file {csv_path.stat().st_size / mb:.0f} MiB")
    print(f"{'read':<12} {'peak RSS':>10} {'of which reading':>17} {'arrays read':>12}")
    for what, path in (("idx", args.data), ("csv", csv_path)):
        rss, before, arrays = peak(args.src, what, path)
        print(
            f"{what.upper():<12} {rss / mb:>6.0f} MiB {(rss - before) / mb:>13.0f} MiB"
            f" {arrays / mb:>8.0f} MiB"
        )


if __name__ == "__main__":
    main()
