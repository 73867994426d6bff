"""``bpnn train``: train a network on any data set and write a run folder with model.npz.

SOURCE (``--data``) is a registered name (mnist, fashion-mnist, kmnist), a folder of IDX files in
the MNIST layout, a CSV file or a .npz file (``bpnn.data.sources``).  Settings: the documented
defaults for the kind of data, then ``--preset``, then the options; the log's first lines and
config.json show every resolved setting.  ``--resume DIR`` continues a saved run exactly; only the
options in ``RESUMABLE`` (and output options) may be given with it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from ..constraints import int_list
from ..errors import BpnnError
from ..history import plural
from ..presets import PRESETS
from ..runs import DATA_OPTIONS, train
from ..settings import HIDDEN, SETTINGS
from ..tracking import MLflow, TensorBoard
from . import SOURCES, add_data_options, command

# The settings with a command-line option, from the settings table (``bpnn.settings``).
OPTIONS = (HIDDEN, *(s for s in SETTINGS if s.parse is not None))
OUTPUT_OPTIONS = ("json", "no_report", "data", "out", "force", "preset")
TRACKING_OPTIONS = ("tensorboard", "mlflow", "mlflow_experiment")  # may come with --resume


def add_parser(sub) -> None:
    p = command(
        sub,
        "train",
        "train a network on a data set (MNIST by default)",
        "Train on a data set and write a run folder: model.npz, history.json, "
        "checkpoint.npz, config.json and a report.",
        run,
    )
    data = p.add_argument_group("data")
    add_data_options(data, SOURCES, test=True)
    out = p.add_argument_group("the run folder and what it is told")
    settings = p.add_argument_group(
        "network and training",
        "the settings table; a default left unsaid depends on the data (images or a table) and "
        "--preset, and the run's first lines say each value used",
    )
    settings.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="recipe to start from (default: none: the documented defaults for the data)",
    )
    out.add_argument("--out", metavar="DIR", help="run folder (default: runs/PRESET or runs/DATA)")
    out.add_argument("--resume", metavar="DIR", help="continue the run saved in DIR")
    data.add_argument(
        "--limit", type=int, metavar="N", help="train on the first N training samples only"
    )
    data.add_argument(
        "--val",
        metavar="SOURCE",
        help="a validation set (same format and features) that early stopping watches, instead "
        "of one held out of the training data",
    )
    settings.add_argument(
        "--class-weight",
        metavar="balanced|FILE",
        help="weigh each class: balanced (n / (classes x class count), as scikit-learn) or a "
        'JSON file {"label": weight, ...} (unnamed classes weigh 1)',
    )
    for flag, text in (
        ("--categorical", "table: columns to treat as categories (comma-separated)"),
        ("--numeric", "table: columns to treat as numbers (comma-separated)"),
        ("--ignore", "table: columns to leave out (comma-separated)"),
        (
            "--missing",
            "table: more values that mean missing (comma-separated; always: empty, "
            "NA, N/A, NaN, null, ?)",
        ),
    ):
        data.add_argument(flag, metavar="COLUMNS" if flag != "--missing" else "TOKENS", help=text)
    out.add_argument("--force", action="store_true", help="overwrite a run already in --out")
    out.add_argument("--no-report", action="store_true", help="do not write the report figures")
    out.add_argument("--json", action="store_true", help="print one JSON object with the results")
    out.add_argument(
        "--tensorboard",
        metavar="DIR",
        help="write TensorBoard event files into DIR (bpnn[tensorboard])",
    )
    out.add_argument(
        "--mlflow",
        nargs="?",
        const="default",
        metavar="URI",
        help="log the run to MLflow (bpnn[mlflow]): a tracking URI or folder; without one "
        "MLflow's default (MLFLOW_TRACKING_URI, else ./mlflow.db with artifacts in ./mlruns)",
    )
    out.add_argument(
        "--mlflow-experiment", default="bpnn", metavar="NAME", help="MLflow experiment (bpnn)"
    )
    for setting in OPTIONS:
        settings.add_argument(
            setting.flag, dest=setting.name, metavar=_metavar(setting.parse), help=setting.help
        )


# a setting's parser -> how its value is shown in the help, and what a value it refuses is not
VALUES: dict[Callable, tuple[str, str | None]] = {
    int: ("N", "not a whole number"),
    float: ("X", "not a number"),
    int_list: ("N,N", None),
    str: ("NAME", None),
}


def _metavar(parse) -> str:
    return VALUES.get(parse, ("VALUE", None))[0]


def user_settings(args) -> dict:
    """The settings given on the command line, parsed by the table's parsers (one line each
    when a value does not parse)."""
    settings = {}
    for setting in OPTIONS:
        text, parse = getattr(args, setting.name), setting.parse
        if text is None or parse is None:
            continue
        try:
            settings[setting.name] = parse(text)
        except ValueError as exc:
            why = VALUES.get(parse, ("", None))[1] or str(exc)  # (not Python's own words)
            raise BpnnError(f"{setting.flag} {text}: {why}") from None
    return settings


def run(args) -> int:
    out = print if not args.json else (lambda line: print(line, file=sys.stderr))
    results = execute(args, out)
    if args.json:
        print(json.dumps(results))
    elif not results.get("interrupted"):
        out(_summary(results))
        out(f"model: {results['model']}")
    return 130 if results.get("interrupted") else 0


def execute(args, out) -> dict:
    """Train (or resume) as the parsed ``bpnn train`` options say (``bpnn.runs.train``), sending
    log lines to ``out``; returns the results with ``out``, the run folder."""
    source = {"source": args.data, **{name: getattr(args, name, None) for name in DATA_OPTIONS}}
    source["class_weight"] = _class_weight(source.get("class_weight"))
    callbacks = tracking_callbacks(args)
    results, report = train(
        source,
        user_settings(args),
        preset=args.preset,
        out=args.out,
        force=args.force,
        resume_dir=args.resume,
        report=not args.no_report,
        log=out,
        callbacks=callbacks,
    )
    if report:
        results["report"] = _report(Path(results["out"]), out)
    for cb in callbacks:
        if isinstance(cb, MLflow) and cb.run_id:
            if results.get("report"):
                cb.log_artifact(Path(results["report"]).parent)  # the report folder
            out(f"mlflow: run {cb.run_id} in {cb.tracking_uri or _default_uri()}")
    return results


def tracking_callbacks(args, parent_run_id: str | None = None) -> list:
    """The tracking callbacks ``--tensorboard`` and ``--mlflow`` ask for (``bpnn.tracking``)."""
    callbacks: list = []
    if getattr(args, "tensorboard", None):
        callbacks.append(TensorBoard(args.tensorboard))
    if getattr(args, "mlflow", None):
        uri = None if args.mlflow == "default" else _uri(args.mlflow)
        callbacks.append(MLflow(uri, args.mlflow_experiment, parent_run_id=parent_run_id))
    return callbacks


def _default_uri() -> str:
    import mlflow

    return mlflow.get_tracking_uri()


def _uri(text: str) -> str:
    """A tracking URI, or a folder (made absolute: MLflow's file store wants a file: URI)."""
    return text if "://" in text or text.startswith("file:") else Path(text).resolve().as_uri()


def _class_weight(text: str | None):
    """--class-weight: None, "balanced", or the {label: weight} table of a JSON file."""
    if text is None or text == "balanced":
        return text
    try:
        table = json.loads(Path(text).read_text())
    except OSError as exc:
        raise BpnnError(f"--class-weight {text}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise BpnnError(f"--class-weight {text}: not a JSON file ({exc})") from None
    if not isinstance(table, dict):
        raise BpnnError(f'--class-weight {text}: must hold a JSON object {{"label": weight}}')
    return table


def _summary(results: dict) -> str:
    epochs = plural(results["epochs"], "epoch")
    tail = f"{epochs} in {results['seconds']:.1f}s; {results['stop_reason']}"
    if "test_error" not in results:
        return f"no test set; {tail}"
    if results["task"] == "classify":
        error = f"{100 * results['test_error']:.2f}%"
        return f"test error {error} ({results['test_samples']} samples), {tail}"
    r2 = ", ".join("-" if v is None else f"{v:.4f}" for v in results["test_r2"])
    n = results["test_samples"]
    return f"test RMSE {results['test_error']:.5g} (R^2 {r2}; {n} samples), {tail}"


def _report(run_dir: Path, out) -> str | None:
    try:
        from ..report import write_report
    except ImportError as exc:  # matplotlib missing: the model is saved, only the figures are not
        out(f"report skipped ({exc})")
        return None
    path = write_report(run_dir, log=out)
    out(f"report: {path}")
    return str(path)
