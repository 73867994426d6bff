"""ONNX export of models trained on a raw table: one named input per column, imputation and
one-hot inside the graph; onnxruntime agrees with bpnn (1e-5, identical labels) on rows with
missing values, unseen categories and gaps where training had none."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pd = pytest.importorskip("pandas")

import bpnn  # noqa: E402
from bpnn.errors import BpnnError  # noqa: E402
from bpnn.export import to_onnx  # noqa: E402
from helpers_onnx import feeds, run_graph  # noqa: E402


def table(n: int = 300, seed: int = 0):
    """Numeric (with gaps), yes/no and TRUE/FALSE text, 0/1 numbers, categorical columns (with
    gaps and a rare level that is pooled into (other)), a column named like a graph constant."""
    gen = np.random.default_rng(seed)
    age = gen.normal(40, 12, n)
    colour = gen.choice(["red", "green", "blue"], n).astype(object)
    colour[gen.random(n) < 0.1] = None
    colour[:2] = "mauve"  # rare: pooled into (other)
    frame = pd.DataFrame(
        {
            "age": np.where(gen.random(n) < 0.1, np.nan, age),
            "member": gen.choice(["yes", "no"], n).astype(object),
            "tagged": gen.choice(["TRUE", "FALSE"], n),
            "flag": gen.choice([0.0, 1.0], n),
            "colour": colour,
            "size": gen.choice(["S", "M", "L"], n),  # no gaps in training
            "mean": gen.normal(size=n),  # the name of the standardizing constant
        }
    )
    frame.loc[gen.random(n) < 0.08, "member"] = None
    signal = (
        np.nan_to_num(frame["age"].to_numpy(), nan=40) / 12
        + (frame["member"] == "yes") * 1.5
        + (frame["colour"] == "red") * 2.0
        - (frame["size"] == "L") * 1.0
        + frame["flag"]
    )
    return frame, signal.to_numpy(dtype=float)


def raw_rows(frame):
    """Rows to predict: missing numbers, a missing category where training had none, unseen
    and pooled levels, missing tokens as text ("NA", "")."""
    rows = frame.head(40).copy()
    rows.loc[0, "colour"] = "purple"  # unseen
    rows.loc[1, "size"] = None  # missing, no (missing) level in training
    rows.loc[2, "age"] = np.nan
    rows.loc[3, "colour"] = None
    rows.loc[4, "member"] = None
    rows.loc[5, "size"] = "XXL"  # unseen, no (other) level
    rows.loc[6, "colour"] = "mauve"
    return rows


@pytest.fixture(scope="module")
def data():
    return table()


def test_classifier_on_raw_columns_matches_bpnn(data):
    frame, signal = data
    y = np.where(signal > np.median(signal), "high", "low")
    model = bpnn.fit(frame, y, hidden=[12], epochs=8, seed=3)
    specs = {c.name: c for c in model.schema.columns}
    assert specs["colour"].other and "(missing)" in specs["colour"].levels
    assert not specs["size"].other and specs["age"].indicator
    proto = to_onnx(model)
    session_inputs = {
        i.name: i.type for i in ort.InferenceSession(proto.SerializeToString()).get_inputs()
    }
    assert session_inputs == {
        "age": "tensor(double)",
        "member": "tensor(double)",
        "tagged": "tensor(double)",
        "flag": "tensor(double)",
        "colour": "tensor(string)",
        "size": "tensor(string)",
        "mean": "tensor(double)",
    }
    rows = raw_rows(frame)
    got = run_graph(proto, feeds(model.schema, rows))
    np.testing.assert_allclose(got["probabilities"], model.predict_proba(rows), atol=1e-5)
    np.testing.assert_array_equal(got["label"], model.predict(rows))
    # missing tokens written as text are missing in the graph as in bpnn
    tokens = feeds(model.schema, rows)
    tokens["colour"] = np.where(tokens["colour"] == "", "NA", tokens["colour"]).astype(object)
    np.testing.assert_allclose(run_graph(proto, tokens)["probabilities"], got["probabilities"])


def test_regressor_on_raw_columns_matches_bpnn(data):
    frame, signal = data
    model = bpnn.fit(frame, signal, hidden=[12], epochs=8, seed=4)
    rows = raw_rows(frame)
    got = run_graph(to_onnx(model), feeds(model.schema, rows))
    np.testing.assert_allclose(got["values"].ravel(), model.predict(rows).ravel(), atol=1e-5)


def test_columns_named_like_the_graph(data):
    frame, signal = data
    renamed = frame.rename(columns={"age": "W0", "flag": "probabilities_1"})
    model = bpnn.fit(renamed, signal, hidden=[4], epochs=2, seed=1)
    rows = raw_rows(renamed)
    got = run_graph(to_onnx(model), feeds(model.schema, rows))
    np.testing.assert_allclose(got["values"].ravel(), model.predict(rows).ravel(), atol=1e-5)
    # a column named like an output (Rdatasets' Snow.pumps has a "label"): the column keeps its
    # name, the output becomes values_output (values_output_1 where a column has that name too)
    clash = frame.rename(columns={"age": "values", "flag": "values_output"})
    model = bpnn.fit(clash, signal, hidden=[4], epochs=1, seed=1)
    proto = to_onnx(model)
    assert [o.name for o in proto.graph.output] == ["values_output_1"]
    assert {"values", "values_output"} <= {i.name for i in proto.graph.input}
    rows = raw_rows(clash)
    got = run_graph(proto, feeds(model.schema, rows))
    np.testing.assert_allclose(
        got["values_output_1"].ravel(), model.predict(rows).ravel(), atol=1e-5
    )
    with pytest.raises(BpnnError, match="no input type"):
        to_onnx(model, input_type="float64")


def test_a_classifier_with_columns_named_label_and_probabilities(data):
    """Both outputs renamed, the label still (N,) strings equal to bpnn's, the probabilities
    (N, 2) equal to bpnn's."""
    frame, signal = data
    named = frame.rename(
        columns={"colour": "label", "age": "probabilities", "flag": "label_output"}
    )
    y = np.where(signal > np.median(signal), "high", "low")
    model = bpnn.fit(named, y, hidden=[6], epochs=3, seed=2)
    proto = to_onnx(model)
    outputs = {o.name: len(o.type.tensor_type.shape.dim) for o in proto.graph.output}
    assert outputs == {"probabilities_output": 2, "label_output_1": 1}
    assert {"label", "probabilities", "label_output"} <= {i.name for i in proto.graph.input}
    rows = raw_rows(frame).rename(columns={"colour": "label", "age": "probabilities"})
    rows = rows.rename(columns={"flag": "label_output"})
    got = run_graph(proto, feeds(model.schema, rows))
    np.testing.assert_array_equal(got["label_output_1"], model.predict(rows))
    np.testing.assert_allclose(got["probabilities_output"], model.predict_proba(rows), atol=1e-5)


def test_metadata_holds_the_schema(data):
    frame, signal = data
    model = bpnn.fit(frame, signal, hidden=[4], epochs=1)
    meta = {p.key: p.value for p in to_onnx(model).metadata_props}
    assert '"colour"' in meta["table"] and '"bpnn-table"' in meta["table"]


def test_the_readme_example_runs(tmp_path, monkeypatch, capsys):
    from conftest import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split('save_onnx(model, "churn.onnx")', 1)[0].rsplit("```python\n", 1)[1]
    rest = readme.split('save_onnx(model, "churn.onnx")', 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    exec(block + 'save_onnx(model, "churn.onnx")' + rest, {})
    printed = capsys.readouterr().out.split()
    assert float(printed[-1]) < 1e-5


def test_cli_export_of_a_model_trained_on_an_r_style_csv(tmp_path, capsys):
    from bpnn.cli import main
    from test_tables import HEADER, penguin_rows, write_table

    data = write_table(tmp_path / "penguins.csv", HEADER, penguin_rows(150))
    run = tmp_path / "run"
    args = ["--target", "species", "--out", str(run), "--no-report", "--epochs", "5"]
    assert main(["train", "--data", str(data), *args]) == 0
    assert main(["export", str(run), "--out", str(tmp_path / "p.onnx")]) == 0
    assert "inputs island, bill_length_mm, body_mass_g, sex, tagged, smoker," in (
        capsys.readouterr().out
    )
    rows = pd.read_csv(data, dtype=str).drop(columns=["Unnamed: 0", "species"])
    rows.loc[0, "island"], rows.loc[1, "sex"], rows.loc[2, "tagged"] = "Atlantis", None, None
    model = bpnn.load(run)
    inputs = {}
    for spec in model.schema.columns:
        column = rows[spec.name]
        if spec.type == "categorical":
            inputs[spec.name] = column.fillna("").to_numpy(dtype=object)
        elif spec.true is not None:
            ones = column.str.lower() == spec.true
            inputs[spec.name] = np.where(column.isna(), np.nan, ones).astype(np.float64)
        else:
            inputs[spec.name] = pd.to_numeric(column).to_numpy(dtype=np.float64)
    proto = onnx.load(str(tmp_path / "p.onnx"))
    got = run_graph(proto, inputs)
    np.testing.assert_allclose(got["probabilities"], model.predict_proba(rows), atol=1e-5)
    np.testing.assert_array_equal(got["label"], model.predict(rows))


def test_a_table_of_numbers_keeps_its_one_input():
    X = pd.DataFrame({"a": np.arange(40.0), "b": np.sin(np.arange(40.0))})
    model = bpnn.fit(X, np.arange(40.0) % 2, hidden=[4], epochs=1)
    assert model.schema is not None and model.schema.plain()
    got = run_graph(to_onnx(model), {"input": X.to_numpy(np.float64)})
    np.testing.assert_allclose(got["values"].ravel(), model.predict(X).ravel(), atol=1e-5)


def test_missing_tokens_in_any_case_are_missing_in_the_graph(data):
    frame, signal = data
    model = bpnn.fit(frame, signal, hidden=[4], epochs=2, seed=1)
    rows = raw_rows(frame).head(8)
    rows["colour"] = ["NaN", "nA", "N/a", "NULL", "nULL", "", "?", "red"]  # bpnn: all but red
    got = run_graph(to_onnx(model), feeds(model.schema, rows))
    np.testing.assert_allclose(got["values"].ravel(), model.predict(rows).ravel(), atol=1e-5)
    gaps = rows.assign(colour=[None] * 7 + ["red"])  # what bpnn reads those tokens as
    np.testing.assert_array_equal(model.predict(gaps), model.predict(rows))


def test_a_table_of_numbers_fills_a_gap_in_the_graph_as_bpnn():
    gen = np.random.default_rng(0)
    X = pd.DataFrame({"a": gen.normal(size=60), "year": gen.integers(2007, 2010, 60) * 1.0})
    y = np.where(X["a"] > 0, "up", "down")
    model = bpnn.fit(X, pd.Series(y), hidden=[4], epochs=3, seed=2)  # labels as a pandas Series
    assert model.schema.plain()
    rows = X.head(6).copy()
    rows.loc[0, "a"], rows.loc[1, "year"] = np.nan, np.nan  # bpnn fills them with the medians
    got = run_graph(to_onnx(model), {"input": rows.to_numpy(np.float64)})
    np.testing.assert_allclose(got["probabilities"], model.predict_proba(rows), atol=1e-6)
    np.testing.assert_array_equal(got["label"], model.predict(rows))


def test_standardizing_a_column_of_years_is_exact_in_the_graph():
    gen = np.random.default_rng(0)
    years = gen.integers(2007, 2010, 150) * 1.0  # float32's step at 2008 is 1.2e-4
    X = pd.DataFrame({"year": years, "kind": gen.choice(["a", "b"], 150)})
    model = bpnn.fit(X, years - 2008 + gen.normal(size=150), hidden=[4], epochs=2)
    mean = model.preprocessing.mean[0]
    assert abs(np.float32(mean) - mean) > 4e-5  # a float32 mean would be off by that / std
    proto = to_onnx(model)
    gemm = next(n for n in proto.graph.node if n.op_type == "Gemm")
    proto.graph.output.append(
        onnx.helper.make_tensor_value_info(gemm.input[0], onnx.TensorProto.FLOAT, None)
    )
    feed = {"year": X["year"].to_numpy(np.float64), "kind": X["kind"].to_numpy(object)}
    inputs = run_graph(proto, feed)[gemm.input[0]]
    from bpnn.tables.read import frame_table

    want = model.preprocessing.apply(model.schema.encode(frame_table(X)), np.float32)
    np.testing.assert_allclose(inputs, want, rtol=0, atol=1e-6)


def test_large_numbers_reach_the_graph_in_float64():
    # float32's step at 1.2e8 is 8: fed as float32, these values would collapse to a few
    # and, once standardized by their small spread, be off by whole units
    gen = np.random.default_rng(3)
    big = 123_456_789.0 + gen.integers(0, 40, 120) * 0.25
    X = pd.DataFrame({"big": big, "kind": gen.choice(["a", "b", "c"], 120)})
    X.loc[5, "big"] = np.nan  # a gap: the indicator input too
    model = bpnn.fit(X, (big - big.mean()) + gen.normal(size=120), hidden=[4], epochs=2, seed=0)
    proto = to_onnx(model)
    kinds = {i.name: i.type.tensor_type.elem_type for i in proto.graph.input}
    assert kinds == {"big": onnx.TensorProto.DOUBLE, "kind": onnx.TensorProto.STRING}
    got = run_graph(proto, feeds(model.schema, X))
    np.testing.assert_allclose(got["values"].ravel(), model.predict(X).ravel(), atol=1e-5)


def test_large_numbers_of_a_table_of_numbers_reach_the_graph_in_float64():
    gen = np.random.default_rng(4)
    X = pd.DataFrame(
        {"big": 123_456_789.0 + gen.integers(0, 40, 120) * 0.25, "b": gen.normal(size=120)}
    )
    model = bpnn.fit(X, X["big"] - X["big"].mean() + X["b"], hidden=[4], epochs=2, seed=0)
    assert model.schema.plain()
    proto = to_onnx(model)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    got = run_graph(proto, {"input": X.to_numpy(np.float64)})
    np.testing.assert_allclose(got["values"].ravel(), model.predict(X).ravel(), atol=1e-5)


def test_an_array_model_takes_float64_input_in_float64_when_asked():
    gen = np.random.default_rng(5)
    X = np.stack([123_456_789.0 + gen.integers(0, 40, 120) * 0.25, gen.normal(size=120)], 1)
    model = bpnn.fit(X, X[:, 0] - X[:, 0].mean() + X[:, 1], hidden=[4], epochs=2, seed=0)
    assert model.schema is None and model.preprocessing.kind == "standardize"
    assert to_onnx(model).graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    got = run_graph(to_onnx(model, input_type="float64"), {"input": X})
    np.testing.assert_allclose(got["values"].ravel(), model.predict(X).ravel(), atol=1e-5)
