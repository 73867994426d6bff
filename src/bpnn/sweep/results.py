"""The sweep folder and its results.

DIR/sweep.json      the sweep: data, method, how each setting was searched, every trial
DIR/trials/NAME/    one ``bpnn train`` run folder per trial, with its record trial.json
DIR/results.json    every trial sorted by validation error (failed ones last, with their message)
DIR/results.csv     the same table
DIR/best/model.npz  the best trial's model (and its record, trial.json)

Running the same sweep again into DIR continues it; a different spec or data is refused.
Not here: running trials (``bpnn.sweep.trial``, ``bpnn.sweep.engine``).
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import BpnnError
from ..fileio import atomic_write
from .trial import read_record

__all__ = ["FORMAT", "Tally", "collect", "open_sweep", "trial_folder", "write_results"]

FORMAT = "bpnn-sweep"
VERSION = 1
COLUMNS = ("trial", "status", "val_error", "test_error", "epochs", "best_epoch", "seconds", "seed")


def trial_folder(out, name: str) -> Path:
    return Path(out) / "trials" / name


def open_sweep(out, spec, data: dict) -> dict:
    """The sweep in ``out``: written there when new, checked against ``spec`` and ``data`` when
    the folder holds one already (so the same command continues it)."""
    out = Path(out)
    sweep = {
        "format": FORMAT,
        "version": VERSION,
        "data": data,
        "method": spec.method,
        "seed": spec.seed,
        "scales": spec.scales(),
        "trials": [t.to_dict() for t in spec.make_trials()],
    }
    path = out / "sweep.json"
    trials = out / "trials"
    if trials.exists() and not trials.is_dir():
        raise BpnnError(f"{trials} is not a folder: a damaged sweep folder? choose another --out")
    if path.exists():
        old = _read_json(path)
        _check_sweep(path, old)
        same = {k: old.get(k) for k in ("data", "trials")} == {
            k: sweep[k] for k in ("data", "trials")
        }
        if not same:
            raise BpnnError(
                f"{out} holds another sweep (its spec or data differ): choose another --out"
            )
        return old
    out.mkdir(parents=True, exist_ok=True)
    _write_json(path, sweep)
    return sweep


def _check_sweep(path: Path, old) -> None:
    """BpnnError unless ``old`` (sweep.json as read) is a sweep this bpnn wrote."""
    kinds = {"data": dict, "method": str, "scales": dict, "trials": list}
    if not isinstance(old, dict) or old.get("format") != FORMAT:
        raise BpnnError(f"{path}: not a bpnn sweep file (damaged?): choose another --out")
    broken = [k for k, kind in kinds.items() if not isinstance(old.get(k), kind)]
    broken += [] if all(_is_trial(t) for t in old.get("trials") or []) else ["trials"]
    if broken:
        raise BpnnError(
            f"{path}: damaged ({', '.join(sorted(set(broken)))} missing or of the wrong type): "
            f"choose another --out"
        )


def _is_trial(trial) -> bool:
    return (
        isinstance(trial, dict)
        and isinstance(trial.get("name"), str)
        and isinstance(trial.get("settings"), dict)
        and isinstance(trial.get("params"), dict)
    )


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BpnnError(f"{path}: unreadable ({exc})") from None


def _write_json(path: Path, data) -> None:
    text = json.dumps(data, indent=1).encode()
    atomic_write(path, lambda f: f.write(text))


def _row(out: Path, trial: dict) -> dict:
    """One row of the results table: the trial's outcome and its searched settings."""
    record = read_record(trial_folder(out, trial["name"])) or {"status": "not run"}
    results = record.get("results") or {}
    row = {
        "trial": trial["name"],
        "status": record["status"],
        **{k: results.get(k) for k in COLUMNS[2:-1]},
        "seed": trial["settings"].get("seed"),
        **trial["params"],
        "error": record.get("error"),
        "metric": results.get("metric"),
        "folder": str(trial_folder(out, trial["name"])),
        "command": record.get("command"),
    }
    if record.get("starts"):
        row["starts"] = len(record["starts"])
    return row


def _sort_key(row: dict):
    value = row["val_error"]
    return (row["status"] != "done", math.inf if value is None else value, row["trial"])


def collect(out, sweep: dict) -> list[dict]:
    """Every trial's row, best (lowest validation error) first, unfinished and failed ones last."""
    return sorted((_row(Path(out), t) for t in sweep["trials"]), key=_sort_key)


def write_results(out, sweep: dict, rows: list[dict], seconds: float) -> dict:
    """results.json, results.csv and best/ in ``out``; returns what results.json holds."""
    out = Path(out)
    best = (
        rows[0]
        if rows and rows[0]["status"] == "done" and rows[0]["val_error"] is not None
        else None
    )
    summary = {
        "format": FORMAT + "-results",
        "version": VERSION,
        "data": sweep["data"],
        "method": sweep["method"],
        "scales": sweep["scales"],
        "seconds": round(seconds, 2),
        "best": best and best["trial"],
        "trials": rows,
    }
    _write_json(out / "results.json", summary)
    atomic_write(out / "results.csv", lambda f: f.write(_csv(rows, list(sweep["scales"])).encode()))
    if best is not None:
        _copy_best(Path(best["folder"]), out / "best")
    return summary


def _csv(rows: list[dict], searched: list[str]) -> str:
    buffer = io.StringIO()
    names = [*COLUMNS, *searched, "error", "command"]
    writer = csv.DictWriter(buffer, fieldnames=names, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {k: ",".join(map(str, v)) if isinstance(v, list) else v for k, v in row.items()}
        )
    return buffer.getvalue()


def _copy_best(folder: Path, best: Path) -> None:
    best.mkdir(parents=True, exist_ok=True)
    for name in ("model.npz", "trial.json"):
        with open(folder / name, "rb") as source:
            atomic_write(best / name, lambda f, source=source: shutil.copyfileobj(source, f))


def format_value(value, metric: str | None) -> str:
    """An error as a percentage (classification) or a number (regression RMSE)."""
    if value is None:
        return "-"
    return f"{100 * value:.2f}%" if metric != "rmse" else f"{value:.5g}"


def header(searched: list[str]) -> list[str]:
    """The columns of the results table as the terminal and the report show it."""
    return ["trial", "status", "val", "test", "epochs", "seconds", *searched]


def cells(row: dict, searched: list[str]) -> list[str]:
    """A results row as text cells under ``header(searched)``."""
    seconds = "-" if row["seconds"] is None else f"{row['seconds']:.1f}"
    values = [
        ",".join(map(str, v)) if isinstance(v, list) else str(v)
        for v in (row.get(n) for n in searched)
    ]
    return [
        row["trial"],
        row["status"],
        format_value(row["val_error"], row["metric"]),
        format_value(row["test_error"], row["metric"]),
        str(row["epochs"] or "-"),
        seconds,
        *values,
    ]


def failures(rows: list[dict]) -> list[str]:
    """One line per failed trial, with its message."""
    return [f"{r['trial']} failed: {r['error']}" for r in rows if r["status"] == "failed"]


def table(rows: list[dict], searched: list[str]) -> list[str]:
    """The results as aligned text lines for the terminal, then the failures."""
    lines = [header(searched), *(cells(r, searched) for r in rows)]
    widths = [max(len(c) for c in column) for column in zip(*lines)]
    return [
        "  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines
    ] + failures(rows)


@dataclass
class Tally:
    """Trials done, failed and the best so far, for the progress line."""

    total: int
    done: int = 0
    failed: int = 0
    best: tuple | None = None  # (val_error, trial name, metric)

    def add(self, record: dict) -> None:
        if record["status"] != "done":
            self.failed += 1
            return
        self.done += 1
        results = record["results"]
        value = results.get("val_error")
        if value is not None and (self.best is None or value < self.best[0]):
            self.best = (value, record["name"], results.get("metric"))

    def line(self, running: int) -> str:
        best = (
            "-"
            if self.best is None
            else f"{format_value(self.best[0], self.best[2])} ({self.best[1]})"
        )
        return (
            f"trials {self.done + self.failed}/{self.total}: {self.done} done, {running} running, "
            f"{self.failed} failed; best validation error {best}"
        )
