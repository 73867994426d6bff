"""Reading a 1,000,000-row numeric CSV file: bpnn against ``pandas.read_csv``, side by side.

    python benchmarks/csv_read.py [--rows 1000000] [--repeat 3] [--streamed] [--strict]
                                  [--src OTHER/src] [--before OLDER/src]

Writes a CSV file of ``--rows`` rows x 21 numeric columns (20 features and a target, about 165 MB
for a million rows; kept in the system's temporary folder between runs), then reads it in a fresh
Python per reading, alternating: bpnn (``bpnn.data.load_source``: the file typed, encoded into
the float64 features X (n, 20) and targets y (n,)) and ``pandas.read_csv`` (a DataFrame).  Each
reading reports its wall time and its peak resident memory above the process's memory after its
imports (VmHWM after a reset, Linux), which is what the reading itself cost; the median of
``--repeat`` readings is printed (and the CPU seconds of all its threads: on a shared machine
the wall time follows the load), with bpnn's over pandas' and bpnn's memory over its arrays'.
``--streamed`` also times bpnn reading the file with pyarrow's streaming reader (what it does
with a file over ``WHOLE_FILE_SHARE`` of the memory available).  ``--strict`` also times bpnn's
NumPy-only reader (used without pyarrow; slow, and it holds every field's text: run it with
fewer ``--rows``).  ``--before OLDER/src`` also times bpnn from another source tree (a change's
before), alternated with the rest.  Targets: at most 1.5x pandas' time and 2x the arrays' memory.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import numpy as np

from _peak import probe

SRC = Path(__file__).resolve().parents[1] / "src"

PROBE = """
import os, sys, time
from pathlib import Path
import numpy as np
what, path = sys.argv[1], Path(sys.argv[2])
if what == "pandas":
    import pandas
else:
    import pyarrow.csv  # imported before the reset, as pandas is: the reading is measured
    from bpnn.data.sources import load_source
    import bpnn.tables.read as read
    if what == "strict":
        read._arrow_csv = lambda path, tokens: read.strict_table(path, tokens)
    if what == "streamed":  # as for a file large beside the memory available
        read.available_memory = lambda: 0

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024

with open("/proc/self/clear_refs", "w") as f:  # peak RSS from here on (Linux)
    f.write("5")
before = status("VmRSS")
start, cpu = time.perf_counter(), os.times()
if what == "pandas":
    frame = pandas.read_csv(path)
    arrays = int(frame.memory_usage(index=False).sum())
else:
    data = load_source(path)
    arrays = data.X_train.nbytes + data.y_train.nbytes
end = os.times()
used = end.user + end.system - cpu.user - cpu.system
print(time.perf_counter() - start, status("VmHWM") - before, arrays, used)
"""


def write_csv(path: Path, rows: int) -> None:
    """``rows`` rows of 20 normal features (4 decimals) and a target: f0..f19,y."""
    rng = np.random.default_rng(0)
    tmp = path.with_suffix(".part")
    with open(tmp, "w") as f:
        f.write(",".join([*(f"f{j}" for j in range(20)), "y"]) + "\n")
        for start in range(0, rows, 50_000):
            block = rng.normal(size=(min(50_000, rows - start), 21))
            np.savetxt(f, block, fmt="%.4f", delimiter=",")
    tmp.rename(path)


def read(src: Path, what: str, path: Path) -> tuple[float, int, int, float]:
    """(seconds, peak bytes above the imports, bytes of the arrays read, CPU seconds of all
    its threads) in a fresh Python."""
    out = probe(src, PROBE, what, path)
    return float(out[0]), int(out[1]), int(out[2]), float(out[3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--streamed", action="store_true", help="also bpnn, streamed")
    parser.add_argument("--strict", action="store_true", help="also bpnn's NumPy-only reader")
    parser.add_argument("--src", type=Path, default=SRC, help="the bpnn src folder to measure")
    parser.add_argument(
        "--before", type=Path, help="also bpnn from this src folder (a change's before), alternated"
    )
    args = parser.parse_args()
    path = Path(tempfile.gettempdir()) / f"bpnn-numeric-{args.rows}x21.csv"
    if not path.exists():
        write_csv(path, args.rows)
    mb = 1 << 20
    print(f"{path}: {path.stat().st_size / mb:.0f} MiB, {args.rows:,} rows x 21 columns")
    readers = ["bpnn", "pandas"] + ["streamed"] * args.streamed + ["strict"] * args.strict
    readers += ["before"] * (args.before is not None)
    runs: dict[str, list[tuple[float, int, int, float]]] = {r: [] for r in readers}
    for _ in range(args.repeat):
        for what in readers:
            if what == "before":
                runs[what].append(read(args.before, "bpnn", path))
            else:
                runs[what].append(read(args.src, what, path))
    median = {
        w: tuple(statistics.median(r[k] for r in rs) for k in range(4)) for w, rs in runs.items()
    }
    print(
        f"{'reader':<8} {'seconds':>8} {'CPU s':>6} {'memory':>10} {'arrays':>10}"
        f" {'memory/arrays':>14}"
    )
    for what, (seconds, memory, arrays, cpu) in median.items():
        print(
            f"{what:<8} {seconds:>8.2f} {cpu:>6.2f} {memory / mb:>6.0f} MiB"
            f" {arrays / mb:>6.0f} MiB {memory / arrays:>13.2f}x"
        )
    bpnn, pandas = median["bpnn"], median["pandas"]
    print(
        f"bpnn / pandas: {bpnn[0] / pandas[0]:.2f}x the time, {bpnn[3] / pandas[3]:.2f}x the CPU,"
        f" {bpnn[1] / pandas[1]:.2f}x memory"
    )


if __name__ == "__main__":
    main()
