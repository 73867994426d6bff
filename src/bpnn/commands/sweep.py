"""``bpnn sweep SPEC --data SOURCE --out DIR``: search for good settings, one ``bpnn train`` run
per trial, on Dask: a local cluster by default, or an existing one with ``--scheduler``.

Each trial's run folder is DIR/trials/NAME; the table of results (sorted by validation error)
goes to DIR/results.json and DIR/results.csv, the best model to DIR/best/model.npz.  Running the
same command again continues an interrupted sweep (``bpnn.sweep.results``).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from ..data import mnist
from ..errors import BpnnError
from ..fileio import clean_temps, lock_folder, unlock_folder
from ..limits import MAX_WORKERS_PER_CORE
from . import SOURCES, add_data_options, command


def add_parser(sub) -> None:
    p = command(
        sub,
        "sweep",
        "search for good settings: many bpnn train runs on Dask",
        "Run the trials of a search (grid or random; SPEC is a TOML or JSON "
        "file) as bpnn train runs on a Dask cluster; write DIR/results.csv, "
        "DIR/results.json and DIR/best/model.npz. Run it again to continue.",
        run,
        json="print results.json at the end",
    )
    p.add_argument(
        "spec", metavar="SPEC", help="the sweep: base settings and the search space (TOML or JSON)"
    )
    add_data_options(
        p, f"{SOURCES}; every worker must be able to read it", test=True, default="mnist"
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        required=True,
        help="the sweep folder (every worker writes its "
        "trials there: a shared folder on a cluster)",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="an existing Dask scheduler, e.g. tcp://HOST:8786 "
        "(default: $DASK_SCHEDULER_ADDRESS, else a local cluster)",
    )
    p.add_argument(
        "--mlflow",
        nargs="?",
        const="default",
        metavar="URI",
        help="log each trial to MLflow as a child run of one parent run for the sweep "
        "(bpnn[mlflow]; URI as for bpnn train --mlflow)",
    )
    p.add_argument(
        "--mlflow-experiment", default="bpnn", metavar="NAME", help="MLflow experiment (bpnn)"
    )
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="local cluster: worker processes (default: one per core)",
    )


def run(args) -> int:
    from ..sweep.spec import load_spec

    out = print if not args.json else (lambda line: print(line, file=sys.stderr, flush=True))
    scheduler = args.scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    _check_options(args, scheduler)
    spec = load_spec(args.spec)
    folder = Path(args.out).resolve()  # workers may run elsewhere: they get absolute paths
    lock_folder(folder, "sweep")  # one sweep per folder (freed when this process ends)
    clean_temps(folder / "best")
    try:
        return _sweep(args, spec, folder, scheduler, out)
    finally:
        unlock_folder(folder)


def _sweep(args, spec, folder: Path, scheduler: str | None, out) -> int:
    from ..sweep import engine
    from ..sweep.results import Tally, collect, open_sweep, table, trial_folder, write_results

    sweep = open_sweep(folder, spec, data_options(args))
    jobs = [(t, trial_folder(folder, t.name)) for t in spec.make_trials()]
    tally = Tally(len(jobs))
    todo = _unfinished(jobs, tally)
    out(
        f"sweep: {len(jobs)} trials ({spec.method} search over {', '.join(spec.space)}); "
        f"{len(jobs) - len(todo)} finished before, {len(todo)} to run -> {args.out}"
    )

    def ended(record: dict, running: int) -> None:
        tally.add(record)
        out(tally.line(running))

    start = time.perf_counter()
    data = {**sweep["data"], **_mlflow_parent(args, out)}
    try:
        if todo:
            with engine.connect(scheduler, args.workers, out) as client:
                engine.run_trials(client, todo, data, ended)
    except KeyboardInterrupt:
        out("interrupted: run the same command again to continue (finished trials are kept)")
        raise
    rows = collect(folder, sweep)
    summary = write_results(folder, sweep, rows, time.perf_counter() - start)
    if "mlflow" in data:
        from ..tracking import end_parent

        tracking = data["mlflow"]
        end_parent(tracking["uri"], tracking["parent"], [folder / "results.csv"])
    for line in table(rows, list(spec.space)):
        out(line)
    out(
        f"results: {Path(args.out) / 'results.csv'}"
        + (
            f"; best model: {Path(args.out) / 'best' / 'model.npz'}"
            if summary["best"]
            else "; no trial finished"
        )
    )
    if args.json:
        print(json.dumps(summary))
    return 0


def _mlflow_parent(args, out) -> dict:
    """{"mlflow": where the trials log, and the parent run's id} for ``--mlflow``; else {}."""
    if not getattr(args, "mlflow", None):
        return {}
    from ..tracking import start_parent

    uri = None if args.mlflow == "default" else _tracking_uri(args.mlflow)
    parent = start_parent(uri, args.mlflow_experiment, f"sweep {Path(args.out).name}")
    out(f"mlflow: parent run {parent}; each trial is a child run")
    return {"mlflow": {"uri": uri, "experiment": args.mlflow_experiment, "parent": parent}}


def _tracking_uri(text: str) -> str:
    """A tracking URI, or a folder made an absolute file: URI (workers run elsewhere)."""
    return text if "://" in text or text.startswith("file:") else Path(text).resolve().as_uri()


def data_options(args) -> dict:
    """The data every trial trains on; a path becomes absolute, so workers find it wherever
    they run (a registered name stays a name: each worker finds it in its own cache)."""

    def where(source):
        if source is None or source in mnist.DATASETS:
            return source
        return str(Path(source).resolve())

    return {"source": where(args.data), "target": args.target, "test": where(args.test)}


def _check_options(args, scheduler: str | None) -> None:
    if args.workers is not None and args.workers < 1:
        raise BpnnError(f"--workers must be at least 1, got {args.workers}")
    most = MAX_WORKERS_PER_CORE * len(os.sched_getaffinity(0))
    if args.workers is not None and args.workers > most:
        raise BpnnError(
            f"--workers {args.workers} is more than this machine's {most} cores "
            f"(limits.MAX_WORKERS_PER_CORE = {MAX_WORKERS_PER_CORE}): a local worker per core "
            f"at most; a larger cluster is one Dask scheduler away (--scheduler)"
        )
    if args.workers is not None and scheduler:
        raise BpnnError(
            "--workers sizes a local cluster; an existing cluster (--scheduler or "
            "DASK_SCHEDULER_ADDRESS) has its own workers"
        )


def _unfinished(jobs: list, tally) -> list:
    """The jobs whose trials have not finished; the finished ones are counted in ``tally``."""
    from ..sweep.trial import FINISHED, read_record

    todo = []
    for trial, folder in jobs:
        record = read_record(folder)
        if record and record.get("status") in FINISHED:
            tally.add(record)
        else:
            todo.append((trial, folder))
    return todo
