"""bpnn's scikit-learn estimators side by side with scikit-learn's own MLP, at matched settings.

    python benchmarks/sklearn_compare.py [--data MNIST_DIR] [--mnist-epochs 10] [--seeds 3] [--json]

Data: MNIST (``--data``, else ``BPNN_DATA``; skipped when neither is there), and two small real
sets that ship with scikit-learn: ``load_digits`` (classification, 1,797 8x8 images) and
``load_diabetes`` (regression, 442 patients).  Each set is split 75/25 (seeded) for the small
ones, MNIST uses its 60,000 / 10,000 split.

Matched settings for both: the same hidden layers, ReLU, Adam with the same learning rate, batch
size, L2 alpha and number of epochs, no early stopping (``n_iter_no_change`` = epochs).  Inputs
are prepared the same way for both (pixels / 255 or / 16; the diabetes features and target
standardised on the training split), so bpnn is told ``preprocessing="none"`` for them; MNIST
goes to bpnn as uint8 pixels with its default x / 255 (the same numbers).  bpnn trains in its
default float32, scikit-learn in float64 (its default for these inputs).

Reported per set: test accuracy (or R^2) and seconds per epoch (fit time / epochs run), the
mean over ``--seeds`` seeds, and the ratio of the fastest seed's times (the least disturbed on a
shared machine).  ``--no-mnist`` skips MNIST.  Not a unit test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings

import numpy as np
from sklearn.datasets import load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor

from bpnn.sklearn import BPNNClassifier, BPNNRegressor


def mnist(folder):
    from bpnn.data import load_mnist

    X, y = load_mnist(folder, "train")
    Xt, yt = load_mnist(folder, "test")
    return X, y, Xt, yt


def digits(seed):
    X, y = load_digits(return_X_y=True)
    X, Xt, y, yt = train_test_split(X / 16.0, y, test_size=0.25, random_state=seed, stratify=y)
    return X, y, Xt, yt


def diabetes(seed):
    X, y = load_diabetes(return_X_y=True)
    X, Xt, y, yt = train_test_split(X, y, test_size=0.25, random_state=seed)
    mean, std, ym, ys = X.mean(0), X.std(0), y.mean(), y.std()
    return (X - mean) / std, (y - ym) / ys, (Xt - mean) / std, (yt - ym) / ys


def settings(hidden, epochs, lr, batch, seed) -> dict:
    return dict(
        hidden_layer_sizes=hidden,
        activation="relu",
        solver="adam",
        alpha=1e-4,
        batch_size=batch,
        learning_rate_init=lr,
        max_iter=epochs,
        n_iter_no_change=epochs,
        early_stopping=False,
        random_state=seed,
    )


def timed_fit(est, X, y, Xt, yt) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        est.fit(X, y)
        seconds = time.perf_counter() - start
    return {
        "score": float(est.score(Xt, yt)),
        "epochs": int(est.n_iter_),
        "s_per_epoch": seconds / est.n_iter_,
    }


def compare(name, data, classify, hidden, epochs, lr, batch, seeds, bpnn_extra, sk_input=None):
    """Fit both at each seed; the mean score and seconds per epoch of each."""
    rows = {"bpnn": [], "sklearn": []}
    for seed in seeds:
        X, y, Xt, yt = data(seed)
        common = settings(hidden, epochs, lr, batch, seed)
        ours = (BPNNClassifier if classify else BPNNRegressor)(**common, **bpnn_extra)
        theirs = (MLPClassifier if classify else MLPRegressor)(**common)
        rows["bpnn"].append(timed_fit(ours, X, y, Xt, yt))
        Xs, Xts = (X, Xt) if sk_input is None else (sk_input(X), sk_input(Xt))
        rows["sklearn"].append(timed_fit(theirs, Xs, y, Xts, yt))
    out = {
        "data": name,
        "metric": "accuracy" if classify else "R^2",
        "hidden": list(hidden),
        "epochs": epochs,
        "lr": lr,
        "batch_size": batch,
        "seeds": list(seeds),
    }
    for who, runs in rows.items():
        times = [r["s_per_epoch"] for r in runs]
        out[who] = {
            "score": float(np.mean([r["score"] for r in runs])),
            "s_per_epoch": float(np.mean(times)),
            "s_per_epoch_min": float(min(times)),
            "scores": [r["score"] for r in runs],
        }
    # the fastest of the seeds' epochs: the least disturbed by other jobs on a shared machine
    out["time_ratio"] = out["bpnn"]["s_per_epoch_min"] / out["sklearn"]["s_per_epoch_min"]
    out["score_gap_points"] = 100 * (out["bpnn"]["score"] - out["sklearn"]["score"])
    return out


def machine() -> dict:
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(
                line.split(":", 1)[1].strip() for line in f if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    import numpy
    import sklearn

    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scikit-learn": sklearn.__version__,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="the MNIST folder (default: $BPNN_DATA)")
    parser.add_argument("--mnist-epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=3, help="seeds for the small sets (MNIST: 1)")
    parser.add_argument("--no-mnist", action="store_true", help="only the two small sets")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    seeds = range(args.seeds)
    results = [
        compare("digits", digits, True, (100,), 100, 1e-3, 200, seeds, {"preprocessing": "none"}),
        compare(
            "diabetes",
            diabetes,
            False,
            (100,),
            200,
            1e-3,
            200,
            seeds,
            {"preprocessing": "none", "targets": "none"},
        ),
    ]
    folder = args.data or os.environ.get("BPNN_DATA")
    if folder and not args.no_mnist:
        data = mnist(folder)
        results.append(
            compare(
                "mnist",
                lambda seed: data,
                True,
                (300,),
                args.mnist_epochs,
                1e-3,
                200,
                [0],
                {},
                sk_input=lambda X: X / 255.0,
            )
        )
    report = {"machine": machine(), "results": results}
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(f"{report['machine']}")
    print(
        f"{'data':9} {'metric':9} {'bpnn':>8} {'sklearn':>8} {'gap(pts)':>9} "
        f"{'bpnn s/ep':>10} {'sk s/ep':>9} {'ratio':>6}"
    )
    for r in results:
        print(
            f"{r['data']:9} {r['metric']:9} {r['bpnn']['score']:8.4f} {r['sklearn']['score']:8.4f} "
            f"{r['score_gap_points']:9.2f} {r['bpnn']['s_per_epoch']:10.4f} "
            f"{r['sklearn']['s_per_epoch']:9.4f} {r['time_ratio']:6.2f}"
        )
    print("s/ep: mean over seeds; ratio: of the fastest seed's epochs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
