"""bpnn against scikit-learn's MLPClassifier / MLPRegressor on real data sets that are not MNIST.

Matched settings: one hidden layer of 100 ReLU units, Adam at 0.001, batches of 32, the same number
of epochs with no early stopping and no L2, the same train/test split (25% test, seeded) and the
same standardised inputs (and, for regression, standardised targets).  Prints accuracy (or R^2)
and seconds per epoch for both, as a Markdown table (``--json`` for one JSON object).

    python benchmarks/own_data.py [--epochs 200] [--json]

Needs scikit-learn (for the estimators and its bundled data sets); not a test.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import bpnn

HIDDEN, LR, BATCH = 100, 1e-3, 32


def data_sets():
    """(name, task, X, y) of scikit-learn's bundled real data sets."""
    from sklearn import datasets

    digits = datasets.load_digits()
    cancer = datasets.load_breast_cancer()
    diabetes = datasets.load_diabetes()
    return [
        ("digits (1797 x 64, 10 classes)", "classify", digits.data, digits.target),
        ("breast cancer (569 x 30, 2 classes)", "classify", cancer.data, cancer.target),
        ("diabetes (442 x 10, regression)", "regress", diabetes.data, diabetes.target),
    ]


def run_bpnn(task, X_train, y_train, X_test, y_test, epochs, seed):
    start = time.perf_counter()
    model = bpnn.fit(
        X_train,
        y_train,
        X_test=X_test,
        y_test=y_test,
        task=task,
        hidden=[HIDDEN],
        optimizer="adam",
        lr=LR,
        batch_size=BATCH,
        epochs=epochs,
        val_size=0,
        stop_on="train",
        eval_every=epochs,
        patience=epochs,
        seed=seed,
        dtype="float64",
        preprocessing="standardize",  # matched to scikit-learn's (not the tabular defaults')
        dropout=0.0,
    )
    seconds = model.results["seconds"]  # training only, as for scikit-learn below
    score = model.score(X_test, y_test)
    quality = score["accuracy"] if task == "classify" else score["r2"][0]
    return quality, seconds / epochs, time.perf_counter() - start


def run_sklearn(task, X_train, y_train, X_test, y_test, epochs, seed):
    import warnings

    from sklearn.compose import TransformedTargetRegressor
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    common = dict(
        hidden_layer_sizes=(HIDDEN,),
        activation="relu",
        solver="adam",
        learning_rate_init=LR,
        batch_size=BATCH,
        max_iter=epochs,
        alpha=0.0,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        early_stopping=False,
        random_state=seed,
    )
    if task == "classify":
        est = make_pipeline(StandardScaler(), MLPClassifier(**common))
    else:
        est = make_pipeline(
            StandardScaler(),
            TransformedTargetRegressor(MLPRegressor(**common), transformer=StandardScaler()),
        )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    return est.score(X_test, y_test), seconds / epochs, seconds


def main() -> None:
    from sklearn.model_selection import train_test_split

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for name, task, X, y in data_sets():
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.25, random_state=args.seed, stratify=y if task == "classify" else None
        )
        parts = (X_train, y_train, X_test, y_test)
        b = run_bpnn(task, *parts, args.epochs, args.seed)
        s = run_sklearn(task, *parts, args.epochs, args.seed)
        rows.append(
            {
                "data": name,
                "metric": "accuracy" if task == "classify" else "R^2",
                "bpnn": b[0],
                "sklearn": s[0],
                "bpnn_s_per_epoch": b[1],
                "sklearn_s_per_epoch": s[1],
                "time_ratio": b[1] / s[1],
            }
        )
    if args.json:
        print(
            json.dumps(
                {
                    "machine": platform.processor() or platform.machine(),
                    "epochs": args.epochs,
                    "rows": rows,
                }
            )
        )
        return
    head = ("data set", "metric", "bpnn", "scikit-learn", "bpnn s/epoch", "scikit-learn s/epoch")
    print("| " + " | ".join(head) + " | time ratio |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['data']} | {r['metric']} | {r['bpnn']:.4f} | {r['sklearn']:.4f} | "
            f"{r['bpnn_s_per_epoch']:.4f} | {r['sklearn_s_per_epoch']:.4f} | "
            f"{r['time_ratio']:.2f} |"
        )


if __name__ == "__main__":
    main()
