"""``bpnn report RUN_DIR``: figures and an HTML/Markdown page for a finished training run.

Works for any model: learning curves; a classifier's confusion matrix (and, for image inputs, its
most confident mistakes); a regressor's predicted-against-true and residual plots; first-layer
weights of image models.  The test data is the run's recorded source (or ``--data SOURCE``); a
report never downloads, and skips the data figures with a notice when the data is not there.
A sweep folder (``bpnn sweep``) gets the sweep's report instead (``bpnn.sweep.report``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..errors import BpnnError
from ..fileio import clean_temps, lock_folder, unlock_folder
from . import command


def add_parser(sub) -> None:
    p = command(
        sub,
        "report",
        "write figures and a report page for a training run",
        "Learning curves; for classifiers the confusion matrix (and the "
        "most confident mistakes of image models); for regressors predicted-against-"
        "true and residual plots; first-layer weights of image models. PNG files, "
        "with index.html and README.md showing them (default: RUN_DIR/report/).",
        run,
        json="print the files written and the numbers as JSON",
    )
    p.add_argument(
        "run_dir",
        metavar="RUN_DIR",
        help="a run folder written by bpnn train, or a sweep "
        "folder written by bpnn sweep (validation error against each searched setting)",
    )
    p.add_argument(
        "--data",
        metavar="SOURCE",
        help="the data to test on: a registered name, IDX "
        "folder, .csv or .npz file (default: the source the run was trained on; never "
        "downloaded)",
    )
    p.add_argument(
        "--out", metavar="DIR", help="where to write the report (default: RUN_DIR/report)"
    )


def run(args) -> int:
    from ..report import build_report  # matplotlib loads only when a report is asked for
    from ..sweep.report import is_sweep, write_sweep_report

    folder = Path(args.run_dir)
    if not folder.is_dir():
        raise BpnnError(f"{folder}: no such run folder")
    sweep = is_sweep(folder)
    lock_folder(folder, "sweep" if sweep else "run")  # no report while a run or sweep writes
    try:
        clean_temps(Path(args.out) if args.out else folder / "report")
        if sweep:
            return _show(args, *write_sweep_report(folder, args.out), {})
        notice = lambda line: print(f"bpnn report: {line}", file=sys.stderr)  # noqa: E731
        report = build_report(folder, args.data, out_dir=args.out, log=notice)
        summary = {"notices": report.notices, **report.summary}
        return _show(args, report.out_dir, report.files, summary)
    finally:
        unlock_folder(folder)


def _show(args, out_dir, files: list, numbers: dict) -> int:
    """The files written (or, with --json, them and the report's numbers as one JSON object)."""
    if args.json:
        print(json.dumps({"out": str(out_dir), "files": files, **numbers}))
        return 0
    for path in files:
        print(path)
    print(f"report: {Path(out_dir) / 'index.html'}")
    return 0
