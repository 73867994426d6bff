"""``bpnn train``: turn the four MNIST files into a digit recogniser (a run folder with model.npz).

Settings come from a preset (``--preset``, default ``fast``) overridden by options; ``--resume DIR``
continues a saved run exactly where its last checkpoint left it.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ..errors import BpnnError
from ..presets import PRESETS, preset
from ..train import Split, Trainer, TrainConfig, read_checkpoint

# Command-line options that override a preset: option name -> (TrainConfig field, type, help).
OVERRIDES = {
    "layers": ("layers", None, "layer sizes, e.g. 784,300,10"),
    "activation": ("activation", str, "hidden activation: sigmoid, tanh, relu, leaky_relu, identity"),
    "output": ("output", str, "output activation (softmax for cross_entropy)"),
    "loss": ("loss", str, "squared (the tutorial's) or cross_entropy"),
    "init": ("init", str, "weight initialiser: uniform, xavier, he"),
    "optimizer": ("optimizer", str, "sgd, momentum, nesterov or adam"),
    "lr": ("lr", float, "learning rate"),
    "momentum": ("momentum", float, "momentum coefficient"),
    "weight_decay": ("weight_decay", float, "L2 weight decay"),
    "schedule": ("schedule", str, "learning-rate schedule: constant, step, exponential, cosine"),
    "lr_gamma": ("lr_gamma", float, "factor of the step and exponential schedules"),
    "lr_step": ("lr_step", int, "epochs per step of the step schedule"),
    "batch_size": ("batch_size", int, "samples per update (1 = the tutorial's per-sample SGD)"),
    "dropout": ("dropout", None, "dropout probability of hidden layers' inputs, or one per layer: 0.2,0.5"),
    "augment": ("augment", int, "shift training images by up to N pixels, anew each epoch"),
    "eval_every": ("eval_every", int, "evaluate every N epochs (the tutorial: 10)"),
    "patience": ("patience", int, "stop after N evaluations without improvement"),
    "min_delta": ("min_delta", float, "smallest error decrease that counts as an improvement"),
    "stop_on": ("stop_on", str, "select and stop on 'val' (default) or 'test' (the tutorial's way)"),
    "val_size": ("val_size", int, "training images held out for validation"),
    "checkpoint_every": ("checkpoint_every", int, "save a checkpoint every N epochs"),
    "dtype": ("dtype", str, "float32 or float64"),
}


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a digit recogniser on MNIST",
                       description="Train on MNIST and write a run folder: model.npz, history.json, "
                       "checkpoint.npz, config.json and a report.")
    p.add_argument("--preset", choices=sorted(PRESETS), default="fast",
                   help="recipe to start from (default: fast)")
    p.add_argument("--data", metavar="DIR", help="folder with the four MNIST files")
    p.add_argument("--out", metavar="DIR", help="run folder (default: runs/PRESET)")
    p.add_argument("--epochs", type=int, help="maximum number of epochs")
    p.add_argument("--seed", type=int, help="random seed (weights, shuffling, validation split)")
    p.add_argument("--resume", metavar="DIR", help="continue the run saved in DIR")
    p.add_argument("--limit", type=int, metavar="N", help="train on the first N training images only")
    p.add_argument("--force", action="store_true", help="overwrite a run already in --out")
    p.add_argument("--no-report", action="store_true", help="do not write the report figures")
    p.add_argument("--json", action="store_true", help="print one JSON object with the results")
    for name, (_, typ, text) in OVERRIDES.items():
        p.add_argument("--" + name.replace("_", "-"), dest=name, type=typ or str, help=text)
    p.set_defaults(func=run)


def _parse_list(text: str, typ, what: str) -> list:
    try:
        return [typ(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"--{what} needs comma-separated numbers, got {text!r}") from None


def build_config(args) -> TrainConfig:
    """The preset's settings overridden by the command line's."""
    settings = {"preset": args.preset, **preset(args.preset)}
    for name, (field, _, _) in OVERRIDES.items():
        value = getattr(args, name)
        if value is None:
            continue
        if name == "layers":
            value = _parse_list(value, int, "layers")
        elif name == "dropout":
            value = _parse_list(value, float, "dropout")
            value = value[0] if len(value) == 1 else value
        settings[field] = value
    if args.epochs is not None:
        settings["epochs"] = args.epochs
    if args.seed is not None:
        settings["seed"] = args.seed
    if args.optimizer == "adam" and args.lr is None:
        settings["lr"] = 1e-3  # a preset's SGD rate would be far too large for Adam
    return TrainConfig.from_dict(settings)


def load_splits(config: TrainConfig, data_dir: str | None, limit: int | None):
    """(folder, train, val, test) Splits from the MNIST files."""
    from ..data import find_mnist, load_mnist, validation_split

    folder = find_mnist(data_dir)
    images, labels = load_mnist(folder, "train")
    test = Split(*load_mnist(folder, "test"))
    if limit is not None:
        if limit < 1:
            raise ValueError(f"--limit must be positive, got {limit}")
        images, labels = images[:limit], labels[:limit]
    val = None
    n_val = config.val_size if config.stop_on == "val" else 0
    if n_val:
        if n_val >= len(labels):
            raise ValueError(f"val-size {n_val} leaves no training images (there are {len(labels)})")
        split_seed = np.random.SeedSequence([config.seed, 1])
        train_idx, val_idx = validation_split(len(labels), n_val, np.random.default_rng(split_seed))
        val = Split(images[val_idx], labels[val_idx])
        images, labels = images[train_idx], labels[train_idx]
    return folder, Split(images, labels), val, test


def run(args) -> int:
    out = print if not args.json else (lambda line: print(line, file=sys.stderr))
    if args.resume:
        trainer = _resumed(args, out)
    else:
        config = build_config(args)
        run_dir = Path(args.out or f"runs/{config.preset}")
        _check_free(run_dir, args.force)
        folder, train, val, test = load_splits(config, args.data, args.limit)
        out(f"training {config.preset}: {'-'.join(map(str, config.layers))} {config.activation}/"
            f"{config.loss}, {config.optimizer} lr {config.lr}, batch {config.batch_size}, "
            f"{len(train)} training images -> {run_dir}")
        trainer = Trainer(config, train, val, test, run_dir, log=out, data_dir=str(folder))
    results = trainer.run()
    if results.get("interrupted"):
        if args.json:
            print(json.dumps(results))
        return 130
    if not args.no_report:
        results["report"] = _report(trainer.out_dir, trainer.data_dir, out)
    if args.json:
        print(json.dumps({**results, "out": str(trainer.out_dir)}))
    else:
        out(f"test error {100 * results['test_error']:.2f}% ({results['test_samples']} images), "
            f"{results['epochs']} epochs in {results['seconds']:.1f}s; {results['stop_reason']}")
        out(f"model: {results['model']}")
    return 0


def _resumed(args, out) -> Trainer:
    run_dir = Path(args.resume)
    _, meta = read_checkpoint(run_dir / "checkpoint.npz")
    config = TrainConfig.from_dict(meta["config"])
    _, train, val, test = load_splits(config, args.data or meta.get("data"), args.limit)
    trainer = Trainer.resume(run_dir, train, val, test, epochs=args.epochs, log=out)
    out(f"resuming {run_dir} after epoch {trainer.epoch} of {trainer.config.epochs}")
    return trainer


def _check_free(run_dir: Path, force: bool) -> None:
    """Refuse to start a new run over a saved one unless --force."""
    if force or not run_dir.exists():
        return
    if any((run_dir / name).exists() for name in ("checkpoint.npz", "model.npz")):
        raise BpnnError(f"{run_dir} already holds a run: continue it with --resume {run_dir}, "
                        f"choose another --out, or overwrite it with --force")


def _report(run_dir: Path, data_dir, out) -> str | None:
    try:
        from ..report import write_report
    except ImportError as exc:  # matplotlib missing: the model is saved, only the figures are not
        out(f"report skipped ({exc})")
        return None
    path = write_report(run_dir, data_dir, log=out)
    out(f"report: {path}")
    return str(path)
