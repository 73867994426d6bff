"""``bpnn predict MODEL --rows FILE``: CSV by column name or position, .npy, string labels,
regression, the JSON and --out forms, and one line + exit 2 for each kind of bad input."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

import bpnn
from bpnn.cli import main
from test_report_any import blobs, csv_runs, write_csv  # noqa: F401  (csv_runs is a fixture)


@pytest.fixture(scope="module")
def features() -> np.ndarray:
    return blobs(12, seed=5)[0]


def predict(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["predict", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def table(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_csv_by_name_ignores_target_column(capsys, csv_runs, features, tmp_path):  # noqa: F811
    path = write_csv(
        tmp_path / "new.csv",
        ["a", "b", "c", "animal"],
        [features[:, 0], features[:, 1], features[:, 2], ["?"] * len(features)],
    )
    code, out, err = predict(capsys, csv_runs["classify"], "--rows", path)
    assert code == 0, err
    rows = table(out)
    assert rows[0] == ["prediction", "p_cat", "p_dog", "p_eel"] and len(rows) == 13
    model = bpnn.load(csv_runs["classify"])
    X = np.loadtxt(path, delimiter=",", skiprows=1, usecols=(0, 1, 2))
    assert [r[0] for r in rows[1:]] == model.predict(X).tolist()  # the strings themselves
    assert {r[0] for r in rows[1:]} <= {"cat", "dog", "eel"}
    probs = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
    np.testing.assert_allclose(probs, model.predict_proba(X), rtol=1e-5, atol=1e-7)


def test_csv_in_another_column_order_gives_the_same(capsys, csv_runs, features, tmp_path):  # noqa: F811
    ordered = write_csv(
        tmp_path / "abc.csv", ["a", "b", "c"], [features[:, 0], features[:, 1], features[:, 2]]
    )
    shuffled = write_csv(
        tmp_path / "cxab.csv",
        ["c", "extra", "a", "b"],
        [features[:, 2], np.arange(12.0), features[:, 0], features[:, 1]],
    )
    first = predict(capsys, csv_runs["regress"], "--rows", ordered)
    second = predict(capsys, csv_runs["regress"], "--rows", shuffled)
    assert first[0] == second[0] == 0 and first[1] == second[1]
    assert table(first[1])[0] == ["prediction"]


def test_npy_and_json(capsys, csv_runs, features, tmp_path):  # noqa: F811
    path = tmp_path / "x.npy"
    np.save(path, features)
    code, out, err = predict(capsys, csv_runs["classify"], "--rows", path, "--json")
    assert code == 0, err
    doc = json.loads(out)
    model = bpnn.load(csv_runs["classify"])
    assert set(doc) == {"model", "predictions", "classes", "probabilities"}
    assert (
        doc["classes"] == ["cat", "dog", "eel"]
        and doc["predictions"] == model.predict(features).tolist()
    )
    np.testing.assert_allclose(doc["probabilities"], model.predict_proba(features), rtol=1e-6)


def test_regression_values_and_out_file(capsys, csv_runs, features, tmp_path):  # noqa: F811
    np.save(tmp_path / "x.npy", features)
    code, out, err = predict(
        capsys, csv_runs["regress"], "--rows", tmp_path / "x.npy", "--out", tmp_path / "p.csv"
    )
    assert code == 0 and out == "", err
    rows = table((tmp_path / "p.csv").read_text())
    values = bpnn.load(csv_runs["regress"]).predict(features)
    assert rows[0] == ["prediction"]
    np.testing.assert_allclose([float(r[0]) for r in rows[1:]], values, rtol=1e-8)


def test_headerless_csv_and_model_without_names(capsys, tmp_path, features):
    """A model from arrays (no feature names) with two targets: columns by position."""
    model = bpnn.fit(
        features,
        np.c_[features.sum(axis=1), features[:, 0]],
        out=tmp_path / "run",
        hidden=[4],
        epochs=2,
        task="regress",
    )
    np.savetxt(tmp_path / "plain.csv", features, delimiter=",")
    code, out, err = predict(capsys, tmp_path / "run", "--rows", tmp_path / "plain.csv")
    assert code == 0, err
    rows = table(out)
    assert rows[0] == ["prediction_0", "prediction_1"]
    np.testing.assert_allclose(np.array(rows[1:], dtype=float), model.predict(features), rtol=1e-6)


def bad_inputs(tmp_path) -> list:
    """(file, what the one error line must say) for each kind of bad input."""
    cases = [(tmp_path / "absent.csv", "no such file")]
    for name, text, message in [
        ("word.csv", "a,b,c\n1,2,3\n4,x5,6\n", "line 3, column 'b': 'x5' is not a number"),
        ("inf.csv", "a,b,c\n1,inf,3\n", "line 2, column 'b': inf is not a finite number"),
        ("short.csv", "a,b,c\n1,2,3\n1,2\n", "line 3: 2 fields"),
        ("lacks.csv", "a,b,x\n1,2,3\n", "lacks the model's feature column(s) c"),
        ("wide.csv", "1,2,3,4\n5,6,7,8\n", "4 columns, but the model takes 3 inputs"),
        ("empty.csv", "\n", "empty file"),
        ("header_only.csv", "a,b,c\n", "no data rows"),
    ]:
        (tmp_path / name).write_text(text)
        cases.append((tmp_path / name, message))
    for name, array, message in [
        ("nan.npy", np.array([[1.0, np.nan, 2]]), "row 0, column 1"),
        ("flat.npy", np.zeros(3), "2-D"),
        ("text.npy", np.array([["a", "b", "c"]]), "must be numbers"),
        ("wide.npy", np.zeros((2, 5)), "5 columns"),
    ]:
        np.save(tmp_path / name, array)
        cases.append((tmp_path / name, message))
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    return cases + [(tmp_path / "junk.npy", "not a readable .npy")]


def test_each_bad_input_is_one_line(capsys, csv_runs, tmp_path):  # noqa: F811
    for path, message in bad_inputs(tmp_path):
        code, out, err = predict(capsys, csv_runs["classify"], "--rows", path)
        assert code == 2 and out == "", path
        assert len(err.strip().splitlines()) == 1 and message in err and str(path) in err, (
            path,
            err,
        )


@pytest.mark.parametrize(
    "argv,message",
    [
        ([], "nothing to predict"),
        (["image.png", "--rows", "x.csv"], "not both"),
        (["image.png", "--out", "p.csv"], "--out is for --rows"),
    ],
)
def test_images_and_rows_are_exclusive(capsys, csv_runs, argv, message):  # noqa: F811
    code, out, err = predict(capsys, csv_runs["classify"], *argv)
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1
