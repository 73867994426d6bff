"""Reading data in bounded time and memory (issue 20, items 6, 8, 11, 12, 16): regular files
only, CSV lines and fields bounded, .npz members checked before they inflate, values beyond
float32 refused by column and row.  Blow-ups and hangs run in a subprocess with limits."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from bpnn.data import load_source
from bpnn.data.rows import read_rows
from bpnn.errors import FormatError
from bpnn.tables import TableOptions
from conftest import run_limited

MAX_CSV_FIELD_CHARS = 128 * 1024  # bpnn.limits.MAX_CSV_FIELD_CHARS

SRC = str(Path(__file__).resolve().parents[1] / "src")


def one_line_error(kind, call, *fragments: str) -> str:
    with pytest.raises(kind) as info:
        call()
    message = str(info.value)
    assert "\n" not in message and len(message) < 400, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


# ---------------------------------------------------------------------- regular files only


@pytest.mark.parametrize("reader", ["load_source", "read_rows"])
def test_a_fifo_named_csv_is_refused_at_once(tmp_path, reader):
    fifo = tmp_path / "x.csv"
    os.mkfifo(fifo)
    call = (
        f"load_source({str(fifo)!r})" if reader == "load_source" else f"read_rows({str(fifo)!r}, 3)"
    )
    out = run_limited(
        f"""
        from bpnn.data import load_source
        from bpnn.data.rows import read_rows
        from bpnn.errors import BpnnError
        try:
            {call}
        except BpnnError as exc:
            print(exc)
        """,
        timeout=30,
    )
    assert "not a regular file" in out


def test_dev_zero_named_csv_is_refused(tmp_path):
    link = tmp_path / "zero.csv"
    link.symlink_to("/dev/zero")
    out = run_limited(
        f"""
        from bpnn.data import load_source
        from bpnn.data.rows import read_rows
        from bpnn.errors import BpnnError
        for call in (lambda: load_source({str(link)!r}), lambda: read_rows({str(link)!r}, 3)):
            try:
                call()
            except BpnnError as exc:
                print(exc)
            except MemoryError:
                print("MemoryError")
        """,
        memory=600 << 20,
        timeout=30,
    )
    assert out.count("not a regular file") == 2, out


# ---------------------------------------------------------------------- CSV lines and fields


def test_a_field_over_the_limit_is_one_line(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text('a,b\n1,"' + "7" * (MAX_CSV_FIELD_CHARS + 10) + '\nx"\n2,3\n')
    one_line_error(FormatError, lambda: load_source(path), "big.csv, line 2", "MAX_CSV_FIELD_CHARS")


def test_a_huge_line_costs_bounded_memory(tmp_path):
    path = tmp_path / "wide.csv"
    with open(path, "w") as f:
        f.write("a,b\n1,")
        f.write("9" * (200 << 20))  # one 200 MB field
        f.write("\n")
    out = run_limited(
        f"""
        from bpnn.data import load_source
        from bpnn.errors import FormatError
        try:
            load_source({str(path)!r})
        except FormatError as exc:
            print(exc)
        """,
        memory=600 << 20,
    )
    assert "line 2: longer than" in out and len(out) < 300


def test_an_unterminated_quote_names_the_line_not_the_contents(tmp_path):
    path = tmp_path / "q.csv"
    rows = "".join(f"{i},{i % 2}\n" for i in range(1000))
    path.write_text('x,y\n1,0\n"2,1\n' + rows)
    message = one_line_error(
        FormatError, lambda: load_source(path), "q.csv, line 3", "never closed"
    )
    assert "999" not in message
    one_line_error(FormatError, lambda: read_rows(path, 2), "line 3", "never closed")


def test_a_long_bad_value_is_shown_cut(tmp_path):
    path = tmp_path / "v.csv"
    path.write_text("x,y\n" + "a" * 5000 + ",1\n2,0\n")
    numeric = TableOptions.of(numeric="x")  # text is a category unless a column is named numeric
    message = one_line_error(
        FormatError, lambda: load_source(path, options=numeric), "line 2", "is not a number"
    )
    assert len(message) < 300


def test_csv_reads_as_before(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('\ufeffa,"b",y\n1,2.5,cat\n\n3,-4e2,"dog"\n')
    data = load_source(path)
    np.testing.assert_array_equal(data.X_train, [[1, 2.5], [3, -400]])
    assert data.y_train.tolist() == ["cat", "dog"] and data.feature_names == ["a", "b"]


# ---------------------------------------------------------------------- beyond float32 (item 6)


def test_csv_feature_beyond_float32_names_line_and_column(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("a,b,y\n1,2,0\n3,1e300,1\n")
    one_line_error(FormatError, lambda: load_source(path), "line 3", "'b'", "float32")


def test_csv_target_beyond_float32_is_refused(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,y\n1,0.5\n3,1e300\n")
    one_line_error(FormatError, lambda: load_source(path), "line 3", "'y'", "float32")


def test_npz_values_beyond_float32_are_refused(tmp_path):
    X = np.zeros((4, 3))
    X[2, 1] = 1e300
    np.savez(tmp_path / "d.npz", X_train=X, y_train=np.arange(4) % 2)
    one_line_error(FormatError, lambda: load_source(tmp_path / "d.npz"), "row 2, column 1")


def test_rows_beyond_float32_are_refused(tmp_path):
    (tmp_path / "r.csv").write_text("1,2\n3,1e300\n")
    one_line_error(FormatError, lambda: read_rows(tmp_path / "r.csv", 2), "line 2", "float32")
    np.save(tmp_path / "r.npy", np.array([[1.0, -1e300]]))
    one_line_error(FormatError, lambda: read_rows(tmp_path / "r.npy", 2), "row 0, column 1")


# ---------------------------------------------------------------------- a numeric header (item 8)


def test_rows_header_of_numbers_matching_the_models_names_is_a_header(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("1,2,3\n0.5,0.25,4\n")
    X = read_rows(path, 3, ["1", "2", "3"])
    np.testing.assert_array_equal(X, [[0.5, 0.25, 4]])
    path.write_text("3,2,1\n0.5,0.25,4\n")  # by name, in the model's order
    np.testing.assert_array_equal(read_rows(path, 3, ["1", "2", "3"]), [[4, 0.25, 0.5]])
    np.testing.assert_array_equal(read_rows(path, 3, None), [[3, 2, 1], [0.5, 0.25, 4]])


# ---------------------------------------------------------------------- .npz (item 11)


def test_npz_zip_bomb_is_refused_before_it_inflates(tmp_path):
    path = tmp_path / "bomb.npz"
    buf = tmp_path / "X.npy"
    X = np.zeros((50_000, 10_000), dtype=np.uint8)  # 500 MB of zeros, ~0.5 MB deflated
    np.save(buf, X)
    del X
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(buf, "X_train.npy")
        z.writestr("y_train.npy", b"")
    buf.unlink()
    out = run_limited(
        f"""
        from bpnn.data import load_source
        from bpnn.errors import FormatError
        try:
            load_source({str(path)!r})
        except FormatError as exc:
            print(exc)
        """,
        memory=400 << 20,
    )
    assert "zip bomb" in out


def test_npz_declared_shape_larger_than_its_bytes_is_refused(tmp_path):
    path = tmp_path / "lie.npz"
    header = {"descr": "<f8", "fortran_order": False, "shape": (1 << 40, 4)}
    with zipfile.ZipFile(path, "w") as z:
        with z.open("X_train.npy", "w") as f:
            np.lib.format.write_array_header_1_0(f, header)
            f.write(b"\0" * 64)
        with z.open("y_train.npy", "w") as f:
            np.save(f, np.zeros(2))
    one_line_error(FormatError, lambda: load_source(path), "X_train", "declares shape")
