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
from pathlib import Path

from ..activations import ACTIVATIONS, HIDDEN_ACTIVATIONS
from ..device import resolve_device
from ..errors import BpnnError
from ..fitting import prepare, resolve_settings
from ..init import INITIALISERS
from ..losses import LOSSES
from ..optim import OPTIMIZERS, SCHEDULES
from ..presets import PRESETS
from ..runstate import checkpoint_config, read_checkpoint
from ..settings import RESUMABLE, TrainConfig, check_layers
from ..train import Trainer
from . import SOURCES, add_data_options, command

# Options that set a TrainConfig field: option name -> (type, help).
OVERRIDES = {
    "task": (
        str,
        "classify or regress (default: by the targets: integer or text labels with few "
        "distinct values -> classify, else regress)",
    ),
    "hidden": (
        None,
        "hidden layer sizes, e.g. 300,100 (input and output widths come from the data)",
    ),
    "layers": (None, "all layer sizes, e.g. 784,300,10 (must fit the data)"),
    "activation": (str, f"hidden activation: {', '.join(HIDDEN_ACTIVATIONS)}"),
    "output": (str, f"output activation (default: the loss's): {', '.join(ACTIVATIONS)}"),
    "loss": (str, f"loss: {', '.join(LOSSES)}"),
    "init": (str, f"weight initialiser: {', '.join(INITIALISERS)}"),
    "optimizer": (str, f"optimiser: {', '.join(OPTIMIZERS)}"),
    "lr": (float, "learning rate"),
    "momentum": (float, "momentum coefficient"),
    "weight_decay": (float, "L2 weight decay"),
    "schedule": (str, f"learning-rate schedule: {', '.join(SCHEDULES)}"),
    "lr_gamma": (float, "factor of the step and exponential schedules, in (0, 1]"),
    "lr_step": (int, "epochs per step of the step schedule"),
    "batch_size": (
        int,
        "samples per update, 1 (the tutorial's per-sample SGD) to the training set's size",
    ),
    "dropout": (None, "dropout probability of hidden layers' inputs, or one per layer: 0.2,0.5"),
    "augment": (int, "shift training images by up to N pixels, anew each epoch"),
    "epochs": (int, "maximum number of epochs"),
    "eval_every": (int, "evaluate every N epochs (the tutorial: 10)"),
    "patience": (int, "stop after N evaluations without improvement"),
    "min_delta": (float, "smallest error decrease that counts as an improvement"),
    "stop_on": (
        str,
        "select and stop on 'val' (default), 'test' (the tutorial's way), 'train' or 'loss' "
        "(the training loss)",
    ),
    "val_size": (
        float,
        "validation samples held out of the training data: a count, or a fraction < 1",
    ),
    "test_fraction": (
        float,
        "fraction held out as the test set when the data has none (default 0.2)",
    ),
    "checkpoint_every": (int, "save a checkpoint every N epochs"),
    "preprocessing": (
        str,
        "what the features go through: auto (uint8 -> scale 1/255, else "
        "standardize), none, scale, standardize",
    ),
    "scale": (float, "the factor of --preprocessing scale (default 1/255)"),
    "target_scaling": (str, "regression targets: standardize (default) or none"),
    "target_on": (float, "squared-error classification: the target of the true class (0.9)"),
    "target_off": (float, "squared-error classification: the target of the others (0.1)"),
    "dtype": (str, "float32 or float64"),
    "seed": (int, "random seed (weights, shuffling, splits)"),
    "device": (
        str,
        "where to train: cpu (default), cuda (an NVIDIA GPU through JAX: pip install "
        "'bpnn[gpu]'), auto (cuda when usable, else cpu), jax-cpu (the GPU's program on the CPU)",
    ),
    "threads": (
        int,
        "CPU threads for the compiled kernels and BLAS (default: as the libraries set them, "
        "every core unless OPENBLAS_NUM_THREADS or NUMBA_NUM_THREADS say otherwise)",
    ),
}
DATA_OPTIONS = ("target", "test", "limit")
OUTPUT_OPTIONS = ("json", "no_report", "data", "out", "force", "preset")


def add_parser(sub) -> None:
    p = command(
        sub,
        "train",
        "train a network on a data set (MNIST by default)",
        "Train on a data set and write a run folder: model.npz, history.json, "
        "checkpoint.npz, config.json and a report.",
        run,
    )
    add_data_options(p, SOURCES, test=True)
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="recipe to start from (default: none: the documented defaults for the data)",
    )
    p.add_argument("--out", metavar="DIR", help="run folder (default: runs/PRESET or runs/DATA)")
    p.add_argument("--resume", metavar="DIR", help="continue the run saved in DIR")
    p.add_argument(
        "--limit", type=int, metavar="N", help="train on the first N training samples only"
    )
    p.add_argument("--force", action="store_true", help="overwrite a run already in --out")
    p.add_argument("--no-report", action="store_true", help="do not write the report figures")
    p.add_argument("--json", action="store_true", help="print one JSON object with the results")
    for name, (typ, text) in OVERRIDES.items():
        p.add_argument("--" + name.replace("_", "-"), dest=name, type=typ or str, help=text)


def _parse_list(text: str, typ, what: str) -> list:
    try:
        return [typ(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"--{what} needs comma-separated numbers, got {text!r}") from None


def user_settings(args) -> dict:
    """The TrainConfig settings given on the command line (lists parsed)."""
    settings = {}
    for name in OVERRIDES:
        value = getattr(args, name)
        if value is None:
            continue
        if name in ("layers", "hidden"):
            value = _parse_list(value, int, name)
        elif name == "dropout":
            value = _parse_list(value, float, "dropout")
            value = value[0] if len(value) == 1 else value
        elif name == "val_size" and value >= 1:
            value = int(value)
        settings[name] = value
    if settings.get("optimizer") == "adam" and "lr" not in settings:
        settings["lr"] = (
            1e-3  # an SGD rate (a preset's, the image defaults') is far too large for Adam
        )
    return settings


def load_data(source: str | None, target=None, test=None):
    from ..data.sources import load_source

    return load_source(source or "mnist", target=target, test=test)


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
    """Train (or resume) as the parsed ``bpnn train`` options say, sending log lines to ``out``;
    returns the results with ``out``, the run folder.  ``bpnn sweep`` runs each trial through
    here, so a trial is exactly a ``bpnn train`` run."""
    if args.device not in (None, "cpu", "auto"):  # no GPU: say so before reading any data
        resolve_device(args.device, args.dtype or "float32")
    trainer, report = _resumed(args, out) if args.resume else _new(args, out)
    results = trainer.run()
    if results.get("interrupted"):
        return results
    if report:
        results["report"] = _report(trainer.run_dir, out)
    return {**results, "out": str(trainer.out_dir)}


def _summary(results: dict) -> str:
    tail = f"{results['epochs']} epochs in {results['seconds']:.1f}s; {results['stop_reason']}"
    if "test_error" not in results:
        return f"no test set; {tail}"
    if results["task"] == "classify":
        error = f"{100 * results['test_error']:.2f}%"
        return f"test error {error} ({results['test_samples']} samples), {tail}"
    r2 = ", ".join("-" if v is None else f"{v:.4f}" for v in results["test_r2"])
    n = results["test_samples"]
    return f"test RMSE {results['test_error']:.5g} (R^2 {r2}; {n} samples), {tail}"


def _new(args, out) -> tuple[Trainer, bool]:
    data = load_data(args.data, args.target, args.test)
    settings = user_settings(args)
    y = data.y_train[: args.limit] if args.limit else data.y_train
    config = TrainConfig.from_dict(
        resolve_settings(data.X_train, y, preset=args.preset, kind=data.kind, **settings)
    )
    run_dir = Path(args.out or f"runs/{config.preset or Path(str(data.source)).stem or 'run'}")
    _check_free(run_dir, args.force)
    prepared = prepare(
        data.X_train, data.y_train, data.X_test, data.y_test, config=config, limit=args.limit
    )
    targets = prepared.targets(y)
    if "layers" in settings:
        check_layers(
            config.layers, data.X_train.shape[1], targets.n_outputs, config.task, "--layers"
        )
    info = _data_info(data, args.limit, args.target, args.test, report=not args.no_report)
    out(f"data: {data.describe()}")
    for note in prepared.notes:
        out(note)
    out(f"splits: {prepared.sizes()}")
    out(
        "settings: "
        + (f"preset {config.preset}" if config.preset else f"defaults for {data.kind} data")
        + f" -> {run_dir}"
    )
    trainer = Trainer(
        config,
        prepared.train,
        prepared.val,
        prepared.test,
        run_dir,
        targets=targets,
        data=info,
        log=out,
    )
    out(f"targets: {targets.describe()}")
    out(f"preprocessing: {trainer.preprocessing.describe()}")
    out(_where(trainer))
    for line in config.describe():
        out(f"  {line}")
    return trainer, not args.no_report


def _data_info(data, limit, target, test, report: bool) -> dict:
    return {
        "source": str(data.source),
        "target": target,
        "test": test,
        "limit": limit,
        "checksum": data.checksum(),
        "kind": data.kind,
        "image_shape": list(data.image_shape) if data.image_shape else None,
        "feature_names": data.feature_names,
        "target_names": data.target_names,
        "report": report,
    }


def _resumed(args, out) -> tuple[Trainer, bool]:
    """The run in --resume DIR, on the same data (checked by checksum), with allowed changes."""
    given = [
        name
        for name in (*OVERRIDES, *DATA_OPTIONS)
        if getattr(args, name, None) is not None and name not in RESUMABLE
    ]
    given += [name for name in ("preset", "out", "force") if getattr(args, name)]
    if given:
        names = ", ".join("--" + n.replace("_", "-") for n in given)
        raise BpnnError(
            f"{names} cannot be given with --resume (the run's settings are fixed by its "
            f"checkpoint); only --{', --'.join(n.replace('_', '-') for n in RESUMABLE)} may change"
        )
    run_dir = Path(args.resume)
    _, meta = read_checkpoint(run_dir / "checkpoint.npz")
    info = meta.get("data") or {}
    if not isinstance(info, dict) or "source" not in info:
        raise BpnnError(
            f"{run_dir}: the checkpoint does not record its data (made by an older bpnn?)"
        )
    data = load_data(args.data or info["source"], info.get("target"), info.get("test"))
    if info.get("checksum") and data.checksum() != info["checksum"]:
        raise BpnnError(
            f"{data.source}: the data differs from the data the run in {run_dir} was trained on "
            f"(checksum mismatch)"
        )
    config = checkpoint_config(meta, run_dir / "checkpoint.npz")
    prepared = prepare(
        data.X_train, data.y_train, data.X_test, data.y_test, config=config, limit=info.get("limit")
    )
    changes = {name: getattr(args, name) for name in RESUMABLE}
    trainer = Trainer.resume(
        run_dir, prepared.train, prepared.val, prepared.test, changes=changes, log=out
    )
    out(_where(trainer))
    out(
        f"resuming {run_dir} after epoch {trainer.epoch} of {trainer.config.epochs}"
        + (
            f" (changed: {trainer.history.changes[-1]})"
            if any(v is not None for v in changes.values()) and trainer.history.changes
            else ""
        )
    )
    return trainer, info.get("report", True) and not args.no_report


def _where(trainer: Trainer) -> str:
    """The log line saying where the run computes."""
    return f"device: {trainer.device.describe()}; threads: {trainer.runtime()['threads']}"


def _check_free(run_dir: Path, force: bool) -> None:
    """Refuse to start a new run over a saved one unless --force."""
    if force or not run_dir.exists():
        return
    if any((run_dir / name).exists() for name in ("checkpoint.npz", "model.npz")):
        raise BpnnError(
            f"{run_dir} already holds a run: continue it with --resume {run_dir}, "
            f"choose another --out, or overwrite it with --force"
        )


def _report(run_dir: Path, out) -> str | None:
    try:
        from ..report import write_report
    except ImportError as exc:  # matplotlib missing: the model is saved, only the figures are not
        out(f"report skipped ({exc})")
        return None
    path = write_report(run_dir, log=out)
    out(f"report: {path}")
    return str(path)
