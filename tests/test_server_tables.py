"""bpnn serve of a model trained on a raw table: POST /predict with JSON rows of raw columns,
GET /api/model, and every kind of bad request as one-line 4xx errors (Starlette's TestClient)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import bpnn
from bpnn.modelfile import read_model
from bpnn.server import create_app

pd = pytest.importorskip("pandas")

with warnings.catch_warnings():  # Starlette 1.x prefers httpx2 but works with httpx
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


def frame(n: int = 150, seed: int = 0):
    gen = np.random.default_rng(seed)
    colour = gen.choice(["red", "green", "blue"], n).astype(object)
    colour[gen.random(n) < 0.1] = None
    age = np.where(gen.random(n) < 0.1, np.nan, gen.normal(40, 12, n))
    member = gen.choice(["yes", "no"], n)
    data = pd.DataFrame({"age": age, "member": member, "colour": colour, "flag": 1.0 * (age > 40)})
    signal = np.nan_to_num(age, nan=40) / 12 + (member == "yes") + (colour == "red") * 2.0
    return data, signal


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tables")
    data, signal = frame()
    labels = np.where(signal > np.median(signal), "high", "low")
    classify = bpnn.fit(data, labels, hidden=[8], epochs=5, seed=1)
    regress = bpnn.fit(data, signal, hidden=[8], epochs=5, seed=1)
    classify.save(folder / "c.npz")
    regress.save(folder / "r.npz")
    return {"classify": folder / "c.npz", "regress": folder / "r.npz"}


def client(path, **limits) -> TestClient:
    net, info = read_model(path)
    return TestClient(create_app(net, info, model_name=path.name, **limits))


ROWS = [
    {"age": 31.5, "member": "yes", "colour": "red", "flag": 0},
    {"colour": "purple", "member": False, "age": None, "flag": True, "extra": 1},  # unseen
    {"age": "52", "member": "NO", "colour": None, "flag": "1"},
    {"age": "NA", "member": None, "colour": "", "flag": None},
]


def expected(path, rows):
    """bpnn's own answer for the same rows as a DataFrame."""
    df = pd.DataFrame(
        [
            {
                "age": r["age"],
                "member": {True: "yes", False: "no"}.get(r["member"], r["member"]),
                "colour": r["colour"],
                "flag": float(r["flag"]) if r["flag"] is not None else np.nan,
            }
            for r in rows
        ]
    )
    df["age"] = pd.to_numeric(df["age"], errors="coerce")
    return bpnn.load(path), df


def test_classifier_answers_rows_of_raw_columns(models):
    doc = client(models["classify"]).post("/predict", json={"rows": ROWS}).json()
    model, df = expected(models["classify"], ROWS)
    assert doc["classes"] == model.classes.tolist()
    assert [p["label"] for p in doc["predictions"]] == model.predict(df).tolist()
    got = np.array([p["probabilities"] for p in doc["predictions"]])
    np.testing.assert_allclose(got, model.predict_proba(df), atol=1e-6)
    assert all(p["probability"] == max(p["probabilities"]) for p in doc["predictions"])


def test_regressor_answers_values(models):
    answer = client(models["regress"]).post("/api/predict", json={"rows": ROWS})
    model, df = expected(models["regress"], ROWS)
    values = [p["value"] for p in answer.json()["predictions"]]
    np.testing.assert_allclose(values, model.predict(df).ravel(), rtol=1e-6)


def test_the_model_says_which_columns_it_takes(models):
    c = client(models["classify"])
    described = c.get("/api/model").json()
    assert described == c.get("/health").json()["inputs"]
    columns = {col["name"]: col for col in described["columns"]}
    assert columns["age"]["type"] == "numeric" and columns["member"]["values"] == ["yes", "no"]
    assert columns["colour"]["levels"] == ["blue", "green", "red"]
    assert described["kind"] == "table" and described["classes"] == ["high", "low"]
    example = c.post("/predict", json=described["example"])
    assert example.status_code == 200 and len(example.json()["predictions"]) == 1


@pytest.mark.parametrize(
    "body,status,message",
    [
        (b"{not json", 400, "body is not valid JSON"),
        (json.dumps({"pixels": [0] * 784}).encode(), 422, '{"rows": [{column: value'),
        (json.dumps({"rows": []}).encode(), 422, '{"rows": [{column: value'),
        (json.dumps({"rows": [1]}).encode(), 422, "row 1 is not an object"),
        (
            json.dumps({"rows": [ROWS[0], {"age": 1, "member": "yes", "flag": 0}]}).encode(),
            422,
            "row 2 has no column 'colour'",
        ),
        (
            json.dumps({"rows": [{**ROWS[0], "age": "old"}]}).encode(),
            422,
            "row 1, column 'age': 'old' is not a number",
        ),
        (
            json.dumps({"rows": [{**ROWS[0], "age": True}]}).encode(),
            422,
            "row 1, column 'age': true is not a number",
        ),
        (
            json.dumps({"rows": [{**ROWS[0], "member": "maybe"}]}).encode(),
            422,
            "row 1, column 'member': 'maybe' is not yes/no, true/false or 1/0",
        ),
        (
            json.dumps({"rows": [{**ROWS[0], "colour": ["red"]}]}).encode(),
            422,
            "a value must be a number, a string, true, false or null",
        ),
        (
            json.dumps({"rows": [{**ROWS[0], "age": 1e300}]}).encode(),
            422,
            "within float32's range",
        ),
        (
            json.dumps({"rows": [{**ROWS[0], "age": 10**400}]}).encode(),
            422,
            "row 1, column 'age': a number beyond float32's range",
        ),
        (
            b'{"rows": [{"age": Infinity, "member": "yes", "colour": "red", "flag": 0}]}',
            422,
            "within float32's range",
        ),
        (json.dumps({"rows": [ROWS[0]] * 11}).encode(), 413, "11 rows is over the 10-row limit"),
    ],
)
def test_bad_requests_are_one_line_4xx(models, body, status, message):
    answer = client(models["classify"], max_rows=10).post(
        "/predict", content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == status
    error = answer.json()["error"]
    assert message in error and "\n" not in error


def test_body_limit_holds_for_tables(models):
    body = json.dumps({"rows": [ROWS[0]] * 200}).encode()
    answer = client(models["classify"], max_body=1000).post("/predict", content=body)
    assert answer.status_code == 413 and "1,000-byte limit" in answer.json()["error"]


def test_an_image_model_still_describes_images(tmp_path):
    from helpers_model import tiny_model

    c = client(tiny_model(tmp_path / "tiny.npz"))
    assert c.get("/api/model").json() == {"kind": "image", "width": 28, "height": 28}
