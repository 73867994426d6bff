"""bpnn against scikit-learn on real tables: accuracy or R^2 on a held-out split, and seconds.

Per data set of ``benchmarks/tabular_data.py`` and per seed, in one run, on the same split
(``train_test_split``, 25% held out, stratified for classification, ``random_state=seed``):

- ``mlp``: scikit-learn's standard MLP pipeline: median imputer + StandardScaler for numeric
  columns, a "missing" level + one-hot (unknown levels ignored) for text columns; MLPClassifier
  or MLPRegressor (defaults, ``early_stopping=True``), the regression target standardised
  (``TransformedTargetRegressor``);
- ``hgb``: ``HistGradientBoosting{Classifier,Regressor}`` with native categories
  (``categorical_features="from_dtype"``) and native missing values, no tuning;
- ``bpnn`` and each ``--candidate``: ``bpnn.fit`` with the given settings on the same hand
  encoding as the MLP pipeline's (imputer + one-hot, done here; bpnn's own preprocessing does
  the scaling), ``test_fraction=0`` (the split above is the test set; bpnn's validation split
  for early stopping comes out of the training part, as the MLP's does).  ``--raw`` (or
  ``RAW = True``) passes the raw table instead (``bpnn.fit(frame, y)``: bpnn types, fills and
  one-hot encodes the columns itself, as ``bpnn.tables`` does for any table).

Seconds are wall time of fit + predict, and the CPU seconds the process spent on them
(``time.process_time``: on a machine shared with other work, the fairer comparison).
Output: a Markdown table (mean over seeds), per-seed figures with ``--json FILE``.  Run with
one BLAS thread each (``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1``) so that no method's
arithmetic gets more cores than another's; with ``--raw``, bpnn's typing of the table's columns
(missing counts, medians) still runs on up to 4 threads of its own
(``bpnn.tables.schema.in_order``; never more than the cores).

    python benchmarks/tabular_suite.py --seeds 0 1 2
    python benchmarks/tabular_suite.py --sets penguins chile \
        --candidate "ple:preprocessing=ple" --candidate "wide:hidden=256,256"

Needs the ``bench`` extra.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tabular_data import SUITE, TABLES

RAW = False  # True: bpnn gets the raw table (bpnn.fit(frame, y)), no hand encoding


def split(X, y, task: str, seed: int):
    from sklearn.model_selection import train_test_split

    strat = y if task == "classify" else None
    return train_test_split(X, y, test_size=0.25, random_state=seed, stratify=strat)


def encoder():
    """Median imputer (+ StandardScaler) for numbers, "missing" level + one-hot for text."""
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    def make(scale: bool):
        num = [SimpleImputer(strategy="median")] + ([StandardScaler()] if scale else [])
        text = make_pipeline(
            SimpleImputer(strategy="constant", fill_value="missing"),
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
        )
        return ColumnTransformer(
            [
                ("num", make_pipeline(*num), make_column_selector(dtype_include="number")),
                ("text", text, make_column_selector(dtype_include="category")),
            ]
        )

    return make


def _text(X):
    """Categories as plain object strings (the imputer's constant fill needs them)."""
    X = X.copy()
    for c in X.columns:
        if str(X[c].dtype) == "category":
            X[c] = X[c].astype(object).where(X[c].notna(), np.nan).astype("category")
    return X


def mlp(task: str, seed: int):
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if task == "classify":
        return make_pipeline(encoder()(True), MLPClassifier(early_stopping=True, random_state=seed))
    net = MLPRegressor(early_stopping=True, random_state=seed)
    return TransformedTargetRegressor(
        make_pipeline(encoder()(True), net), transformer=StandardScaler()
    )


def hgb(task: str, seed: int):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = HistGradientBoostingClassifier if task == "classify" else HistGradientBoostingRegressor
    return cls(categorical_features="from_dtype", random_state=seed)


def score(task: str, y_true, y_pred) -> float:
    from sklearn.metrics import accuracy_score, r2_score

    if task == "classify":
        return float(accuracy_score(np.asarray(y_true), np.asarray(y_pred)))
    return float(r2_score(y_true, y_pred))


class Bpnn:
    """bpnn.fit with ``settings`` on the hand encoding (or on the raw table, ``RAW``)."""

    def __init__(self, task: str, seed: int, settings: dict):
        self.task, self.seed, self.settings = task, seed, settings

    def fit(self, X, y):
        import bpnn

        # test_fraction 0: the suite holds out its own test split; bpnn's default 20% more
        # would train it on 70% of what the others train on
        opts = {"seed": self.seed, "task": self.task, "test_fraction": 0.0, **self.settings}
        if RAW:
            target = y.to_numpy() if self.task == "classify" else y.to_numpy(dtype=np.float64)
            self.model = bpnn.fit(X, target, **opts)
            return self
        self.enc = encoder()(False).fit(X)
        Xe = self.enc.transform(X).astype(np.float64)
        target = y.to_numpy() if self.task == "classify" else y.to_numpy(dtype=np.float64)
        self.model = bpnn.fit(Xe, target, **opts)
        return self

    def predict(self, X):
        if RAW:
            return self.model.predict(X)
        return self.model.predict(self.enc.transform(X).astype(np.float64))


def warm_up() -> None:
    """One tiny fit per task first: the compiled kernels' first-call cost is not any set's."""
    import bpnn

    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    bpnn.fit(X, (X[:, 0] > 0).astype(int), task="classify", epochs=2)
    bpnn.fit(X, X[:, 0], task="regress", epochs=2)


def parse_candidate(text: str) -> tuple[str, dict]:
    """ "label:key=value;key=value" -> (label, settings); hidden=256,256 -> [256, 256]."""
    label, _, rest = text.partition(":")
    settings: dict = {}
    for item in filter(None, rest.split(";")):
        key, _, value = item.partition("=")
        settings[key.strip()] = _value(key.strip(), value.strip())
    return label, settings


def _value(key: str, value: str):
    if key == "hidden":
        return [int(v) for v in value.split(",") if v]
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return {"true": True, "false": False, "none": None}.get(value.lower(), value)


def run_one(name: str, seed: int, methods: dict) -> dict:
    t = TABLES[name]
    X, y = t.frame()
    X = _text(X)
    X_tr, X_te, y_tr, y_te = split(X, y, t.task, seed)
    row = {}
    for label, make in methods.items():
        model = make(t.task, seed)
        start, cpu = time.perf_counter(), time.process_time()
        model.fit(X_tr, y_tr)
        pred = model.predict(X_te)
        row[label] = {
            "score": score(t.task, y_te, pred),
            "seconds": time.perf_counter() - start,
            "cpu_seconds": time.process_time() - cpu,
        }
        print(f"{name} seed {seed} {label}: {row[label]}", file=sys.stderr, flush=True)
    return row


def markdown(results: dict, labels: list) -> str:
    head = "| data set | task | rows | " + " | ".join(labels) + " |"
    lines = [head, "|" + "---|" * (len(labels) + 3)]
    for name, per_seed in results.items():
        t = TABLES[name]
        cells = []
        for label in labels:
            s = [r[label]["score"] for r in per_seed]
            sec = [r[label]["seconds"] for r in per_seed]
            cpu = [r[label].get("cpu_seconds", np.nan) for r in per_seed]
            cells.append(f"{np.mean(s):.4f} ({np.mean(sec):.1f} s, CPU {np.mean(cpu):.2f} s)")
        metric = "accuracy" if t.task == "classify" else "R^2"
        n = len(t.frame()[1])
        lines.append(f"| {name} | {metric} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sets", nargs="*", default=SUITE, choices=list(TABLES))
    p.add_argument("--seeds", nargs="*", type=int, default=[0])
    p.add_argument("--candidate", action="append", default=[], help="label:key=value;...")
    p.add_argument("--no-default", action="store_true", help="leave out bpnn's defaults")
    p.add_argument("--no-baselines", action="store_true", help="leave out mlp and hgb")
    p.add_argument("--raw", action="store_true", help="bpnn reads the raw table itself")
    p.add_argument("--json", type=Path, help="write per-seed figures here")
    args = p.parse_args(argv)
    global RAW
    RAW = args.raw
    methods: dict = {}
    if not args.no_baselines:
        methods.update(mlp=mlp, hgb=hgb)
    if not args.no_default:
        methods["bpnn"] = lambda task, seed: Bpnn(task, seed, {})
    for text in args.candidate:
        label, settings = parse_candidate(text)
        methods[label] = lambda task, seed, s=settings: Bpnn(task, seed, s)
    if len(methods) > 2 or args.no_baselines:
        warm_up()
    results = {n: [run_one(n, seed, methods) for seed in args.seeds] for n in args.sets}
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print(markdown(results, list(methods)))


if __name__ == "__main__":
    main()
