"""The table readers agree (``bpnn.tables.read``): pyarrow read whole, pyarrow streamed and the
strict reader give the same targets, the same text and the same types; the missing tokens'
spellings come from one place; the column statistics and the threads they run on."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from bpnn.data.sources import load_source
from bpnn.tables import read as table_read
from bpnn.tables import schema as table_schema
from bpnn.tables import stats as table_stats
from bpnn.tables.read import missing_tokens, read_table
from bpnn.tables.stats import column_stats

READERS = ["whole", "streamed", "strict"]


def as_read(monkeypatch, reader: str, block: int = 64) -> None:
    """Make ``read_table`` read CSV the way ``reader`` names (pyarrow in blocks of ``block``
    bytes, whole or streamed; or the strict reader)."""
    if reader == "strict":
        monkeypatch.setattr(table_read, "_arrow_csv", table_read.strict_table)
        return
    pytest.importorskip("pyarrow")
    monkeypatch.setattr(table_read, "BLOCK_BYTES", block)
    if reader == "streamed":
        monkeypatch.setattr(table_read, "available_memory", lambda: 0)


def plain(column) -> tuple[str, list]:
    """A column's kind and values, None where missing (NaN != NaN would fail a comparison)."""
    return column.kind, [None if v != v else v for v in column.values().tolist()]


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("token", ["NA", "nA", " NA", "na", "N/A", "?", ""])
def test_an_integer_target_with_a_missing_value_is_classes(tmp_path, monkeypatch, reader, token):
    """Labels 0/1/2 with one missing target, however spelled and however read: the row is left
    out and the targets are int64 labels (classes), not float64 values (a regression)."""
    as_read(monkeypatch, reader)
    lines = [f"{i / 4},{i % 3}" for i in range(60)]
    lines[30] = f"7.5,{token}"
    path = tmp_path / "t.csv"
    path.write_text("x,y\n" + "\n".join(lines) + "\n")
    data = load_source(path)
    assert data.y_train.dtype == np.int64 and len(data.y_train) == 59
    assert sorted(set(data.y_train.tolist())) == [0, 1, 2]


@pytest.mark.parametrize("reader", READERS)
def test_a_column_empty_in_the_first_block_then_integers_keeps_integer_targets(
    tmp_path, monkeypatch, reader
):
    """The whole first block (of pyarrow's) without a target, then integers: still classes."""
    as_read(monkeypatch, reader, block=100)
    lines = [f"{i},{'NA' if i < 40 else i % 3}" for i in range(120)]
    path = tmp_path / "t.csv"
    path.write_text("x,y\n" + "\n".join(lines) + "\n")
    data = load_source(path)
    assert data.y_train.dtype == np.int64 and len(data.y_train) == 80


def test_a_column_of_gaps_alone_is_not_read_again(tmp_path, monkeypatch):
    """A column empty throughout is no integer column, and its text is not read a second time
    to tell (only a column of whole numbers, empty in the first block, is)."""
    pa_csv = pytest.importorskip("pyarrow.csv")
    as_read(monkeypatch, "whole", block=100)
    opened = []
    open_csv = pa_csv.open_csv
    monkeypatch.setattr(pa_csv, "open_csv", lambda *a, **k: opened.append(1) or open_csv(*a, **k))
    path = tmp_path / "t.csv"
    path.write_text("x,e,y\n" + "\n".join(f"{i},,{i % 2}" for i in range(100)) + "\n")
    table = read_table(path)
    assert len(opened) == 1 and not table.column("e").integral  # the first block's types only
    path.write_text("x,e,y\n" + "\n".join(f"{i},{'' if i < 50 else 3},0" for i in range(100)))
    table = read_table(path)
    assert len(opened) == 3 and table.column("e").integral


def test_float_targets_stay_values(tmp_path, monkeypatch):
    """Targets written with a point stay float64 values, with or without a gap."""
    for reader in READERS:
        with monkeypatch.context() as m:
            as_read(m, reader)
            path = tmp_path / "t.csv"
            path.write_text("x,y\n" + "\n".join(f"{i},{i % 3}.0" for i in range(30)) + "\n1,NA\n")
            assert load_source(path).y_train.dtype == np.float64


def test_the_missing_tokens_spellings_are_one_list():
    """pyarrow's null values and the ONNX graph's missing strings are the same spellings."""
    from bpnn import onnxtable
    from bpnn.tables.read import token_spellings

    assert onnxtable.spellings is token_spellings
    assert set(token_spellings("na")) == {"na", "nA", "Na", "NA"}
    options = table_read._options(missing_tokens(["Unknown"]), {})
    nulls = set(options.null_values) if hasattr(options, "null_values") else set()
    assert {"nA", "NaN", "nAn", "NULL", "nUlL", "n/A", "?", "", "unKnown"} <= nulls


TEXT = {
    "time": ["12:30", "08:05", "23:59"],
    "date": ["2020-01-01", "2021-06-30", "1999-12-31"],
    "stamp": ["2020-01-01 10:00", "2020-01-02T11:30", "2021-03-04 05:06"],
    "money": ["1.50", "2.00", "3.25"],
    "flag": ["true", "false", "True"],
}


@pytest.mark.parametrize("empty_first", [False, True])
def test_time_date_and_timestamp_text_is_kept_as_written(tmp_path, monkeypatch, empty_first):
    """Text pyarrow would take for times, dates or timestamps (from the first block, or from a
    later one when the first block has none) is read as written, by every reader alike."""
    pytest.importorskip("pyarrow")
    names = list(TEXT)
    rows = [[TEXT[name][i % 3] for name in names] + [str(i % 2)] for i in range(90)]
    if empty_first:
        for row in rows[:30]:
            row[:-1] = ["NA"] * len(names)
    path = tmp_path / "t.csv"
    path.write_text(",".join([*names, "y"]) + "\n" + "\n".join(map(",".join, rows)) + "\n")
    got = {}
    for reader in READERS:
        with monkeypatch.context() as m:
            as_read(m, reader, block=400)
            table = read_table(path)
            got[reader] = {n: plain(table.column(n)) for n in names}
    assert got["whole"] == got["streamed"] == got["strict"]
    for name in ("time", "date", "stamp", "flag"):
        present = [v for v in got["strict"][name][1] if v is not None]
        assert got["strict"][name][0] == "text"
        assert set(present) == set(TEXT[name])


def test_many_columns_empty_in_the_first_block_stream_as_they_read_whole(tmp_path, monkeypatch):
    """More columns empty in the first block than MAX_RETYPES: streamed as read whole."""
    pytest.importorskip("pyarrow")
    monkeypatch.setattr(table_read, "MAX_RETYPES", 1)
    width = 6
    rows = [
        ["" if i < 20 else str(i * (j + 1) / 8) for j in range(width)] + [str(i % 2)]
        for i in range(200)
    ]
    rows[150][2] = "word"  # one of them turns out to be text
    path = tmp_path / "t.csv"
    header = [f"c{j}" for j in range(width)] + ["y"]
    path.write_text(",".join(header) + "\n" + "\n".join(map(",".join, rows)) + "\n")
    got = {}
    for reader in READERS:
        with monkeypatch.context() as m:
            as_read(m, reader, block=200)
            table = read_table(path)
            got[reader] = [plain(c) for c in table.columns]
    assert got["whole"] == got["streamed"] == got["strict"]
    assert [kind for kind, _ in got["strict"]] == ["float", "float", "text", *["float"] * 3, "int"]


def test_the_streaming_reader_is_closed_when_a_column_is_retyped(tmp_path, monkeypatch):
    """A later block contradicting a column's type: each streaming reader is closed all the same."""
    pa_csv = pytest.importorskip("pyarrow.csv")
    monkeypatch.setattr(table_read, "BLOCK_BYTES", 100)
    monkeypatch.setattr(table_read, "available_memory", lambda: 0)
    opened, closed = [], []
    open_csv = pa_csv.open_csv

    class Tracked:
        def __init__(self, reader):
            self.reader = reader
            opened.append(self)

        def __getattr__(self, name):
            return getattr(self.reader, name)

        def __iter__(self):
            return iter(self.reader)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.close()

        def close(self):
            closed.append(self)
            self.reader.close()

    monkeypatch.setattr(pa_csv, "open_csv", lambda *a, **k: Tracked(open_csv(*a, **k)))
    lines = [f"{i},{i % 2}" for i in range(100)] + ["word,1"]
    path = tmp_path / "t.csv"
    path.write_text("a,y\n" + "\n".join(lines) + "\n")
    assert read_table(path).column("a").kind == "text"
    assert len(opened) >= 3  # the first block's types, a pass retyped, the last pass
    assert len(closed) == len(opened)


# ---- the statistics and their threads ----------------------------------------------------------
def test_column_stats_chunk_by_chunk_match_the_whole_column():
    rng = np.random.default_rng(3)
    x = rng.normal(size=1001)
    x[rng.random(1001) < 0.1] = np.nan
    chunks = np.array_split(x, 7)
    whole = column_stats(x)
    assert column_stats(chunks) == whole
    assert whole.missing == int(np.isnan(x).sum()) and whole.median == np.nanmedian(x)
    flags = [np.array([0, 1, np.nan]), np.array([1.0, 1.0]), np.array([0], dtype=np.int64)]
    assert column_stats(flags).zero_one and column_stats(flags).missing == 1
    assert not column_stats([np.array([0.0, 1.0]), np.array([2.0])]).zero_one
    assert column_stats([np.array([np.nan])]).present == 0
    kept = x.copy()
    column_stats(chunks)
    np.testing.assert_array_equal(np.concatenate(chunks), kept)  # the chunks are not reordered


def test_in_order_uses_at_most_four_threads(monkeypatch):
    monkeypatch.setattr(table_stats, "default_threads", lambda: 64)
    seen = set()
    lock = threading.Lock()

    def work(i):
        with lock:
            seen.add(threading.get_ident())
        return i * i

    assert list(table_schema.in_order(work, range(200))) == [i * i for i in range(200)]
    assert len(seen) <= 4
    monkeypatch.setattr(table_stats, "default_threads", lambda: 2)
    started = []
    start = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda t: started.append(t) or start(t))
    assert list(table_schema.in_order(work, range(50))) == [i * i for i in range(50)]
    assert len(started) <= 2


def test_in_order_starts_no_thread_for_little_work(monkeypatch):
    """Under ``INLINE_VALUES`` values in all (a small table's columns) the work is done here:
    starting the threads would cost more than it."""
    monkeypatch.setattr(table_stats, "default_threads", lambda: 2)
    started = []
    start = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda t: started.append(t) or start(t))
    little = table_stats.INLINE_VALUES - 1
    assert list(table_schema.in_order(lambda i: -i, range(30), values=little)) == [
        -i for i in range(30)
    ]
    assert started == []
    assert list(table_schema.in_order(lambda i: -i, range(30), values=little + 1)) == [
        -i for i in range(30)
    ]
    assert len(started) == 2


@pytest.mark.parametrize("fail_after", [0, 1])
def test_in_order_runs_serially_when_no_thread_can_start(monkeypatch, fail_after):
    """``can't start new thread`` (a tight ulimit -v): the work done here, each item once."""
    monkeypatch.setattr(table_stats, "default_threads", lambda: 4)
    start = threading.Thread.start
    count = [0]

    def refuse(thread):
        count[0] += 1
        if count[0] > fail_after:
            raise RuntimeError("can't start new thread")
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", refuse)
    done = []
    lock = threading.Lock()

    def work(i):
        with lock:
            done.append(i)
        return -i

    assert list(table_schema.in_order(work, range(40))) == [-i for i in range(40)]
    assert sorted(done) == list(range(40))


def test_reading_under_a_tight_address_space_limit_is_no_traceback(tmp_path):
    """A table read and typed under ulimit -v: threads that cannot start are done without."""
    from conftest import run_limited

    path = Path(tmp_path) / "t.csv"
    path.write_text("a,b,y\n" + "\n".join(f"{i / 3},{i % 5},{i % 2}" for i in range(500)) + "\n")
    out = run_limited(
        f"""
        import threading
        start = threading.Thread.start
        def refuse(thread):
            raise RuntimeError("can't start new thread")
        threading.Thread.start = refuse
        import bpnn.tables.stats
        bpnn.tables.stats.INLINE_VALUES = 0  # (threads even for this small table)
        from bpnn.data.sources import load_source
        data = load_source({str(path)!r})
        print(data.X_train.shape)
        """,
        memory=3 << 30,
    )
    assert out.strip() == "(500, 2)"


def test_strict_reader_types_as_before():
    """The strict reader's int/float/text rule is unchanged where there is no gap."""
    assert table_read._typed(["1", "2"], missing_tokens()).kind == "int"
    assert table_read._typed(["1", "2.5"], missing_tokens()).kind == "float"
    assert table_read._typed(["1", "x"], missing_tokens()).kind == "text"
    gapped = table_read._typed(["1", "NA"], missing_tokens())
    assert gapped.kind == "float" and gapped.integral
    assert not table_read._typed(["1.0", "NA"], missing_tokens()).integral


@pytest.mark.parametrize(
    "message",
    [
        "In CSV column #2: CSV conversion error to int64: invalid value 'NA'",  # pyarrow < 25.0.1
        "In CSV column #2: Row #32: CSV conversion error to int64: invalid value 'NA'",
    ],
)
def test_a_conversion_error_names_its_column_in_either_wording(message):
    from bpnn.tables.read import _CONVERSION

    found = _CONVERSION.search(message)
    assert found is not None and found.groups() == ("2", "int64")
