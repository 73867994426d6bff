"""Every real table of an archive through the command line, as a new user would give it: a sweep.

    python benchmarks/real_tables.py [--first N] [--last N] [--target last|first] [--epochs 3]
                                     [--export] [--frames] [--timeout 120] [--json FILE]

The tables: the 757 CSV files of the Rdatasets collection that pydataset ships (the ``bench``
extra; R's data sets as their packages publish them: row names, text categories, ``NA``s,
dates, one-column series, empty files).  For each, in this one process: ``bpnn train --data
FILE --target COL --epochs N --no-report`` (COL: the last column, or with ``--target first``
the first one after R's row names), then ``bpnn predict RUN --rows FILE`` on the same raw file
(the model file's schema reading new raw rows), and with ``--export`` ``bpnn export`` (ONNX);
with ``--frames`` also the library's way in: ``pandas.read_csv``'s DataFrame into ``bpnn.fit``
(pandas' own types: floats with NaN, object columns of text, booleans) and ``predict``.
The commands run with ``--traceback``, so that what the command line would print as one line
arrives as its exception: training and exporting must end with status 0 or be refused with a
``BpnnError`` (or an option argparse refuses); predicting the very file a model was trained on
must succeed.  Anything else -- another exception (a ``ValueError`` from deep inside is a bug
the command line would have shown as a tidy line), another status, more than ``--timeout``
seconds -- is a defect, listed at the end, and the exit status is 1.  The refusals are listed
too, with their message, so a person can judge whether each one is right.  A hang inside
compiled code, where Python's alarm cannot reach, ends the whole sweep after twice the timeout
with every thread's traceback (``faulthandler``).  Ctrl-C stops the sweep.  Run it with one
thread (``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1``) beside other work.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import csv
import faulthandler
import io
import json
import signal
import sys
import tarfile
import tempfile
import time
import traceback
from pathlib import Path

from bpnn.cli import main as bpnn
from bpnn.errors import BpnnError
from tabular_data import cache_dir, pydataset_archive

PREFIX = "resources/rdata/csv/"


class Timeout(BaseException):
    """A command past its time (a BaseException: no ``except Exception`` in bpnn turns it into
    a refusal)."""


def tables(first: int, last: int | None) -> list[Path]:
    """The archive's CSV files [first:last] (sorted by package and name), taken out once into
    the benchmarks' cache folder."""
    try:
        archive = pydataset_archive()
    except ImportError as e:
        raise SystemExit(f"real_tables: {e}") from None
    folder = cache_dir() / "rdata-all"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    with tarfile.open(archive) as tar:
        members = sorted((m for m in tar.getmembers() if _is_table(m.name)), key=lambda m: m.name)[
            first:last
        ]
        for m in members:
            path = folder / m.name[len(PREFIX) :].replace("/", "__")
            if not path.exists():  # (written whole or not at all: a later sweep reuses it)
                data = tar.extractfile(m)
                part = path.with_suffix(".part")
                part.write_bytes(data.read() if data else b"")
                part.replace(path)
            paths.append(path)
    return paths


def _is_table(name: str) -> bool:
    return name.startswith(PREFIX) and name.endswith(".csv") and "/._" not in name


def target_of(path: Path, which: str) -> str:
    """The header's last column, or its first after an empty-named one (R's row names)."""
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
        names = [c.strip() for c in next(csv.reader(f), [])]
    if which == "first":
        names = names[1:] if names and names[0] == "" and len(names) > 1 else names
        return names[0] if names else ""
    return names[-1] if names else ""


def command(argv: list[str], timeout: int) -> dict:
    """One ``bpnn --traceback`` command in this process (``attempt``)."""
    return attempt(lambda: bpnn(["--traceback", *argv]), timeout)


def attempt(call, timeout: int) -> dict:
    """``call()`` within ``timeout`` seconds: its status (its return value, or "refused" for a
    ``BpnnError``, "exception" for anything else that escaped it, "timeout"), last line (the
    refusal's message, or the last line written to stderr), seconds."""
    err, out = io.StringIO(), io.StringIO()
    start, result = time.perf_counter(), {}
    signal.alarm(timeout)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            result["status"] = call()
    except Timeout:
        result["status"] = "timeout"
    except BpnnError as e:
        result["status"], result["message"] = "refused", str(e)
    except SystemExit as e:  # (argparse refuses an option with 2)
        result["status"] = "refused" if e.code == 2 else e.code or 0
    except BaseException as e:  # a defect: kept whole enough to find
        result["status"] = "exception"
        result["traceback"] = "".join(traceback.format_exception(e))[-2000:]
    finally:
        signal.alarm(0)
    lines = [line for line in err.getvalue().splitlines() if line.strip()]
    result["line"] = result.pop("message", None) or (lines[-1][:300] if lines else "")
    result["seconds"] = round(time.perf_counter() - start, 2)
    if result["status"] == 130:  # (Ctrl-C, which bpnn's command line turns into 130)
        raise KeyboardInterrupt
    return result


def sweep_one(path: Path, args: argparse.Namespace) -> dict:
    target = target_of(path, args.target)
    row: dict = {"table": path.name, "target": target}
    with tempfile.TemporaryDirectory() as tmp:
        run = str(Path(tmp) / "run")
        train = ["train", "--data", str(path), "--target", target, "--out", run]
        row["train"] = command([*train, "--epochs", str(args.epochs), "--no-report"], args.timeout)
        if row["train"]["status"] == 0:
            predict = ["predict", run, "--rows", str(path), "--out", str(Path(tmp) / "p.csv")]
            row["predict"] = command(predict, args.timeout)
            if args.export:
                export = ["export", run, "--out", str(Path(tmp) / "model.onnx")]
                row["export"] = command(export, args.timeout)
    if args.frames:
        row["fit"] = attempt(lambda: fit_frame(path, target, args.epochs), args.timeout)
    return row


def fit_frame(path: Path, target: str, epochs: int) -> int | str:
    """The library's way in: ``pandas.read_csv`` as it reads the file (row names and all), then
    ``bpnn.fit(frame, frame.pop(target))`` and a prediction of the first rows; 0 when done
    ("skipped" where pandas cannot read the file or it holds no row)."""
    import pandas as pd

    import bpnn

    try:
        frame = pd.read_csv(path)
    except (ValueError, pd.errors.ParserError):  # (EmptyDataError is a ValueError)
        return "skipped"
    if frame.empty or target not in frame.columns:
        return "skipped"
    y = frame.pop(target)
    model = bpnn.fit(frame, y, epochs=epochs, seed=0)
    model.predict(frame.head(20))
    return 0


def defects(row: dict) -> list[str]:
    """The commands of a row that ended other than with 0 or a refusal with its message (a
    prediction on the training file: other than with 0)."""

    def fine(step: str, r: dict) -> bool:
        refused = r["status"] == "refused" and bool(r["line"]) and step != "predict"
        return r["status"] in (0, "skipped") or refused

    return [
        f"{step}: {r['status']} {r.get('traceback') or r['line']}"
        for step, r in row.items()
        if isinstance(r, dict) and not fine(step, r)
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="real_tables", description=__doc__.splitlines()[0])
    p.add_argument("--first", type=int, default=0, help="start at this table (sorted by name)")
    p.add_argument("--last", type=int, help="stop before this table")
    p.add_argument("--target", choices=["last", "first"], default="last")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--export", action="store_true", help="also export each model to ONNX")
    p.add_argument("--frames", action="store_true", help="also bpnn.fit on pandas.read_csv's frame")
    p.add_argument("--timeout", type=int, default=120, help="seconds a command may take")
    p.add_argument("--json", type=Path, help="write every table's results here")
    args = p.parse_args(argv)
    before = signal.signal(signal.SIGALRM, _timeout)
    rows, found = [], []
    try:
        for path in tables(args.first, args.last):
            # (a hang in compiled code, which the alarm cannot interrupt, ends the sweep)
            faulthandler.dump_traceback_later(2 * args.timeout, exit=True, file=sys.__stderr__)
            row = sweep_one(path, args)
            rows.append(row)
            found += [f"{row['table']} (target {row['target']!r}) {d}" for d in defects(row)]
            print(json.dumps(row), file=sys.stderr, flush=True)
    finally:
        faulthandler.cancel_dump_traceback_later()
        signal.signal(signal.SIGALRM, before)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    report(rows, found)
    return 1 if found else 0


def _timeout(*_):
    raise Timeout()


def report(rows: list[dict], found: list[str]) -> None:
    steps = collections.Counter()
    for row in rows:
        for step, r in row.items():
            if isinstance(r, dict):
                steps[(step, "ok" if r["status"] == 0 else str(r["status"]))] += 1
    print(
        f"{len(rows)} tables: " + ", ".join(f"{s} {k}: {n}" for (s, k), n in sorted(steps.items()))
    )
    print("refused, each with its message:")
    for row in rows:
        for step, r in row.items():
            if isinstance(r, dict) and r["status"] == "refused":
                print(f"  {row['table']} (target {row['target']!r}) {step}: {r['line']}")
    print(f"defects: {len(found)}")
    for line in found:
        print("  " + line)


if __name__ == "__main__":
    sys.exit(main())
