"""``bpnn report RUN_DIR``: figures and an HTML/Markdown page for a finished training run."""
from __future__ import annotations

import json
import sys


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="write figures and a report page for a training run",
                       description="Learning curves, confusion matrix, misclassified test digits and "
                       "first-layer weights as PNG files, with index.html and README.md showing "
                       "them (default: RUN_DIR/report/).")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by bpnn train")
    p.add_argument("--data", metavar="DIR", help="folder with the four MNIST files "
                   "(default: the one the run was trained on, then BPNN_DATA, then the cache)")
    p.add_argument("--out", metavar="DIR", help="where to write the report (default: RUN_DIR/report)")
    p.add_argument("--json", action="store_true", help="print the files written and the numbers as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..report import build_report  # matplotlib loads only when a report is asked for

    notice = lambda line: print(f"bpnn report: {line}", file=sys.stderr)  # noqa: E731
    report = build_report(args.run_dir, args.data, out_dir=args.out, log=notice)
    if args.json:
        print(json.dumps({"out": str(report.out_dir), "files": report.files,
                          "notices": report.notices, **report.summary}))
        return 0
    for path in report.files:
        print(path)
    print(f"report: {report.out_dir / 'index.html'}")
    return 0
