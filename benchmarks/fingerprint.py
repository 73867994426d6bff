"""Same seeds, same weights: train a set of small runs and print a hash of each one's weights.

Run it before and after a change that should not change what is computed, and compare:

    OPENBLAS_NUM_THREADS=1 python benchmarks/fingerprint.py --data DIR > before.json
    ... change the code ...
    OPENBLAS_NUM_THREADS=1 python benchmarks/fingerprint.py --data DIR > after.json
    diff before.json after.json

The runs cover the presets (on MNIST subsets), the documented defaults on a table (iris) and a
regression (diabetes), every optimiser with weight decay and dropout, the per-sample path, the
scikit-learn estimators, and the JAX program on the CPU when JAX is installed.  One BLAS thread
keeps the float rounding of the products the same from run to run.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

import bpnn
from bpnn.cli import main as cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def weights_hash(params) -> str:
    digest = hashlib.sha256()
    for array in params:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def cli_run(tmp: Path, name: str, *argv: str) -> str:
    out = tmp / name
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = cli(["train", *argv, "--out", str(out), "--no-report"])
    if code != 0:
        raise SystemExit(f"{name}: bpnn train exited {code}")
    return weights_hash(bpnn.load(out).net.params())


def table(path: Path, target: str) -> tuple[np.ndarray, np.ndarray]:
    rows = np.genfromtxt(path, delimiter=",", names=True, dtype=None, encoding="utf-8")
    names = [n for n in rows.dtype.names if n != target]
    X = np.column_stack([rows[n].astype(float) for n in names])
    return X, rows[target]


def runs(data: str | None, tmp: Path) -> dict[str, str]:
    found = {}
    if data:
        mnist = ("--data", data)
        found["preset-fast"] = cli_run(
            tmp, "fast", *mnist, "--preset", "fast", "--limit", "3000", "--epochs", "2"
        )
        found["preset-tutorial"] = cli_run(
            tmp, "tut", *mnist, "--preset", "tutorial", "--limit", "1500", "--epochs", "2"
        )
        found["preset-best"] = cli_run(
            tmp, "best", *mnist, "--preset", "best", "--limit", "600", "--epochs", "1"
        )
    iris = str(EXAMPLES / "iris.csv")
    found["iris-defaults"] = cli_run(tmp, "iris", "--data", iris, "--epochs", "30")
    found["diabetes-regress"] = cli_run(
        tmp,
        "diab",
        "--data",
        str(EXAMPLES / "diabetes.csv"),
        "--target",
        "progression",
        "--task",
        "regress",
        "--hidden",
        "16",
        "--epochs",
        "20",
    )
    X, y = table(EXAMPLES / "iris.csv", "species")
    for opt, lr in (("sgd", 0.1), ("momentum", 0.05), ("nesterov", 0.05), ("adam", 0.01)):
        model = bpnn.fit(
            X,
            y,
            hidden=[12, 8],
            optimizer=opt,
            lr=lr,
            weight_decay=1e-3,
            dropout=0.1,
            epochs=15,
            batch_size=16,
            activation="tanh",
            seed=3,
        )
        found[f"fit-{opt}-wd-dropout"] = weights_hash(model.net.params())
    model = bpnn.fit(
        X, y, hidden=[6], loss="squared", activation="sigmoid", batch_size=1, lr=0.3, epochs=5
    )
    found["fit-per-sample-squared"] = weights_hash(model.net.params())
    try:
        from bpnn.sklearn import BPNNClassifier, BPNNRegressor
    except ImportError:
        pass
    else:
        clf = BPNNClassifier(hidden_layer_sizes=(10,), max_iter=20, random_state=0).fit(X, y)
        found["sklearn-classifier"] = weights_hash(clf.model_.net.params())
        reg = BPNNRegressor(hidden_layer_sizes=(10,), max_iter=20, random_state=0)
        reg.fit(X[:, :3], X[:, 3])
        found["sklearn-regressor"] = weights_hash(reg.model_.net.params())
    try:
        import jax  # noqa: F401
    except ImportError:
        pass
    else:
        model = bpnn.fit(X, y, hidden=[10], epochs=10, device="jax-cpu", seed=1)
        found["fit-jax-cpu"] = weights_hash(model.net.params())
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="the MNIST folder (the presets' runs need it)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bpnn-fp-") as tmp:
        found = runs(args.data, Path(tmp))
    json.dump(found, sys.stdout, indent=1, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
