"""``bpnn info MODEL``: task, classes, preprocessing, data source and layers, for a model file or
its run folder, as text and as JSON; a missing model is one line and exit 2."""

from __future__ import annotations

import json

import pytest

from bpnn.cli import main
from test_report_any import csv_runs  # noqa: F401  (a fixture)


def info(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["info", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_regression_model(capsys, csv_runs):  # noqa: F811
    code, out, err = info(capsys, csv_runs["regress"], "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["task"] == "regress" and doc["classes"] is None and doc["targets"]["n_values"] == 1
    assert doc["layers"] == [3, 8, 1] and doc["parameters"] == 3 * 8 + 8 + 8 + 1
    assert doc["preprocessing"].startswith("standardize (3 features")
    assert doc["data"]["source"] == str(csv_runs["regress_csv"].resolve())
    assert doc["data"]["feature_names"] == ["a", "b", "c"] and doc["data"]["target_names"] == [
        "price"
    ]
    code, out, _ = info(capsys, csv_runs["regress"] / "model.npz")
    lines = dict(line.split(None, 1) for line in out.splitlines())
    low, high = doc["targets"]["range"]["low"][0], doc["targets"]["range"]["high"][0]
    assert low < high  # the training split's targets
    assert code == 0 and lines["task"] == (
        "regress: 1 value(s) per sample, targets standardized; predictions kept within the "
        f"training targets' range ({low:.6g}..{high:.6g})"
    )
    assert (
        lines["data"].startswith(str(csv_runs["regress_csv"].resolve()))
        and "target price" in lines["data"]
    )
    assert lines["layers"].startswith("3-8-1") and lines["preprocessing"].startswith("standardize")
    assert lines["results"].startswith("test RMSE ")


def test_classifier_of_strings(capsys, csv_runs):  # noqa: F811
    code, out, _ = info(capsys, csv_runs["classify"])
    assert code == 0 and "classify: 3 classes (cat, dog, eel)" in out
    doc = json.loads(info(capsys, csv_runs["classify"], "--json")[1])
    assert doc["classes"] == ["cat", "dog", "eel"] and doc["task"] == "classify"


@pytest.mark.parametrize("name", ["absent.npz", "absent_folder"])
def test_missing_model_is_one_line(capsys, tmp_path, name):
    code, out, err = info(capsys, tmp_path / name)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and name in err
