"""``bpnn predict --rows FILE --keep COLUMNS``: the named columns of the rows' CSV file, as
written, in front of the predictions (CSV) or under "kept" (JSON); misuse is one line."""

from __future__ import annotations

import csv
import io
import json

import pytest

from bpnn.cli import main
from test_report_any import blobs, csv_runs  # noqa: F401  (csv_runs is a fixture)


def predict(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["predict", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def with_ids(tmp_path):
    X = blobs(5, seed=3)[0]
    ids = ["00017", "a,b", "x-3", "", "Z"]  # kept as written: zeros, a quoted comma, empty
    path = tmp_path / "new.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "a", "b", "c", "batch"])
        writer.writerows([i, *row, b] for i, row, b in zip(ids, X.tolist(), "pqpqp"))
    return path, ids


def test_keep_puts_the_columns_in_front(capsys, csv_runs, with_ids):  # noqa: F811
    path, ids = with_ids
    code, plain, err = predict(capsys, csv_runs["classify"], "--rows", path)
    assert code == 0, err
    code, out, err = predict(capsys, csv_runs["classify"], "--rows", path, "--keep", "id,batch")
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["id", "batch", "prediction", "p_cat", "p_dog", "p_eel"]
    assert [r[0] for r in rows[1:]] == ids and [r[1] for r in rows[1:]] == list("pqpqp")
    assert [r[2:] for r in rows] == list(csv.reader(io.StringIO(plain)))


def test_keep_in_json_and_for_a_regressor(capsys, csv_runs, with_ids):  # noqa: F811
    path, ids = with_ids
    code, out, err = predict(capsys, csv_runs["regress"], "--rows", path, "--keep", "id", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["kept"] == {"id": ids} and len(doc["predictions"]) == 5


@pytest.mark.parametrize(
    "keep, message",
    [("nope", "has no column 'nope'"), ("id,id", "distinct column names"), (",", "distinct")],
)
def test_bad_keep_is_one_line(capsys, csv_runs, with_ids, keep, message):  # noqa: F811
    code, out, err = predict(capsys, csv_runs["classify"], "--rows", with_ids[0], "--keep", keep)
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1


def test_keep_needs_named_columns(capsys, csv_runs, tmp_path):  # noqa: F811
    import numpy as np

    np.save(tmp_path / "x.npy", blobs(4, seed=1)[0])
    code, _, err = predict(
        capsys, csv_runs["classify"], "--rows", tmp_path / "x.npy", "--keep", "id"
    )
    assert code == 2 and "no named columns" in err
