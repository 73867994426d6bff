"""One trial of a sweep, run on a Dask worker (or anywhere): exactly a ``bpnn train`` run.

``run_trial`` hands the trial's settings to the runs layer (``bpnn.runs.train``), as ``bpnn
train`` does, so data handling, checkpoints, history and the run folder are those of a single
run; the equivalent command line is written into the record for people.  The record,
``trial.json`` in the run folder, says how it went: ``running`` (with each start: the epoch it
started from, the worker and process), ``done`` (with the results) or ``failed`` (with the
message).  A folder that holds a checkpoint is resumed, so a trial whose worker was lost, or whose
sweep was killed, goes on from its last checkpoint; a finished or failed trial is not run again.
BLAS threads are limited to this trial's share of the machine's cores.
Not here: which trials to run and where (``bpnn.sweep.engine``).
"""

from __future__ import annotations

import json
import os
import shlex
import time
from contextlib import nullcontext
from pathlib import Path

from ..errors import BpnnError
from ..fileio import atomic_write

__all__ = ["FINISHED", "read_record", "run_trial", "train_argv", "write_record"]

RECORD = "trial.json"
LOG = "train.log"
FINISHED = ("done", "failed")
# what picks a trial's data (bpnn.runs.train's; a table's typing overrides, bpnn.rundata's
# TABLE_OPTIONS, may come from the spec's [base])
SOURCE = ("source", "target", "test", "limit", "categorical", "numeric", "ignore", "missing")


def train_argv(settings: dict, data: dict, out) -> list[str]:
    """``bpnn train`` options for a new run of ``settings`` on ``data`` ({source, target, test})
    into ``out``: lists become comma-separated values, as the command line writes them."""
    argv = ["train", "--data", data["source"], "--out", str(out), "--no-report"]
    options = {**{k: data[k] for k in ("target", "test") if data.get(k) is not None}, **settings}
    for name, value in options.items():
        if isinstance(value, list):
            value = ",".join(map(str, value))
        option, value = "--" + name.replace("_", "-"), str(value)
        # a value that looks like an option (a column named "-x") is joined to its option
        argv += [f"{option}={value}"] if value.startswith("-") else [option, value]
    return argv


def read_record(folder) -> dict | None:
    """The trial's record (trial.json) in ``folder``, or None when it has not started, or when
    the record is damaged (then the trial runs again, from its checkpoint if it has one)."""
    path = Path(folder) / RECORD
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError):
        return None
    return record if _sound(record) else None


def _sound(record) -> bool:
    """Whether a trial record holds what the results read: a status, and for a finished trial
    its results (numbers where numbers belong) or its error."""
    if not isinstance(record, dict) or record.get("status") not in ("running", *FINISHED):
        return False
    if not isinstance(record.get("starts", []), list):
        return False
    if record["status"] == "failed":
        return isinstance(record.get("error"), str)
    if record["status"] == "running":
        return True
    results = record.get("results")
    numbers = ("val_error", "test_error", "seconds")
    return (
        isinstance(results, dict)
        and all(results.get(k) is None or _real(results[k]) for k in numbers)
        and (results.get("epochs") is None or isinstance(results["epochs"], int))
    )


def _real(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def write_record(folder: Path, record: dict) -> None:
    text = json.dumps(record, indent=1).encode()
    atomic_write(folder / RECORD, lambda f: f.write(text))


def run_trial(trial: dict, data: dict, folder: str | Path, slots: dict | None = None) -> dict:
    """Run (or resume, or skip when finished) ``trial`` ({name, settings, params}) on ``data``
    in ``folder``; returns its record.  ``slots``: host -> trial slots on that host, to share
    its cores out.  Errors become a ``failed`` record, never an exception."""
    folder = Path(folder)
    record: dict = read_record(folder) or {}
    if record.get("status") in FINISHED:
        return record
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return {**trial, "status": "failed", "error": f"{folder}: {exc.strerror or exc}"}
    checkpoint = _checkpoint_epoch(folder)
    argv = train_argv(trial["settings"], data, folder)
    record = {
        **trial,
        "status": "running",
        "command": "bpnn " + shlex.join(argv),
        "starts": record.get("starts", []) + [_start(checkpoint)],
    }
    write_record(folder, record)
    try:
        results = _train(trial["settings"], data, folder, checkpoint is not None, _threads(slots))
    except Exception as exc:
        record.update(status="failed", error=_message(exc))
    else:
        record.update(status="done", results=results)
    write_record(folder, record)
    return record


def _checkpoint_epoch(folder: Path) -> int | None:
    """The epoch of the folder's checkpoint (a committee's: its member 0's), or None when there
    is none (or it is unreadable)."""
    from ..committees import checkpoint_path
    from ..runstate import read_checkpoint

    try:
        return read_checkpoint(checkpoint_path(folder))[1]["epoch"]
    except (BpnnError, OSError, KeyError, ValueError):
        return None


def _start(checkpoint: int | None) -> dict:
    worker = _worker()
    return {
        "from_epoch": checkpoint or 0,
        "worker": worker.address if worker else None,
        "pid": os.getpid(),
        "time": time.time(),
    }


def _worker():
    try:
        from distributed import get_worker

        return get_worker()
    except (ImportError, ValueError):  # not on a Dask worker
        return None


def _threads(slots: dict | None) -> int | None:
    """BLAS threads for one trial: this machine's cores over the trials it runs at once."""
    worker = _worker()
    if worker is None or not slots:
        return None
    host = worker.address.split("://")[-1].rsplit(":", 1)[0]
    return max(1, len(os.sched_getaffinity(0)) // max(1, slots.get(host, worker.state.nthreads)))


def _train(settings: dict, data: dict, folder: Path, resume: bool, threads: int | None) -> dict:
    """Train (or resume) the trial in ``folder``, logging into the folder's train.log."""
    from ..runs import DATA_OPTIONS, train
    from .spec import typed

    settings = typed(settings)
    preset = settings.pop("preset", None)
    picked = {k: settings.pop(k, None) for k in DATA_OPTIONS}  # [base] may pick the data too
    source = {k: data.get(k) if data.get(k) is not None else picked.get(k) for k in SOURCE}
    callbacks = _tracking(data.get("mlflow"), folder.name)
    with open(folder / LOG, "a") as log, _limit_threads(threads):

        def out(line: str) -> None:
            log.write(line + "\n")
            log.flush()

        if resume:
            results, _ = train(
                {}, {}, resume_dir=folder, report=False, log=out, callbacks=callbacks
            )
        else:
            results, _ = train(
                source,
                settings,
                preset=preset,
                out=folder,
                report=False,
                log=out,
                callbacks=callbacks,
            )
    if results.get("interrupted"):
        raise BpnnError("interrupted")
    return results


def _tracking(mlflow: dict | None, name: str) -> list:
    """The trial's MLflow callback: a child run of the sweep's parent run (``bpnn sweep
    --mlflow``); none without it."""
    if not mlflow:
        return []
    from ..tracking import MLflow

    return [MLflow(mlflow["uri"], mlflow["experiment"], name, parent_run_id=mlflow["parent"])]


def _limit_threads(threads: int | None):
    if threads is None:
        return nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return nullcontext()
    return threadpool_limits(limits=threads)


def _message(exc: Exception) -> str:
    """One line: the message of a user-caused error, else the exception's type and message."""
    if isinstance(exc, (BpnnError, ValueError, OSError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
