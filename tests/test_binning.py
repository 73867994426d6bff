"""Quantile and piecewise-linear (PLE) encodings: worked examples, shapes, monotone, stored and
reloaded with the model, applied at predict and in the ONNX graph."""

import json

import numpy as np
import pytest

import bpnn
from bpnn.cli import main
from bpnn.errors import FormatError
from bpnn.preprocessing import Preprocessing, input_width, resolve

COLUMN = np.array([[0.0], [1.0], [2.0], [3.0], [4.0]])


def test_ple_worked_example():
    """Edges 0,1,2,3,4 (quantiles of 0..4 at 0, 1/4, ..., 1): bin t is (x - t) clipped to
    [0, 1], the first bin open below and the last open above."""
    p = Preprocessing.fit("ple", COLUMN, bins=4)
    assert [b.tolist() for b in p.edges] == [[0, 1, 2, 3, 4]]
    got = p.apply(np.array([[-1.0], [0.5], [2.5], [5.0]]))
    want = [[-1.0, 0, 0, 0], [0.5, 0, 0, 0], [1, 1, 0.5, 0], [1, 1, 1, 2.0]]
    np.testing.assert_allclose(got, want)


def test_quantile_worked_example():
    """The CDF of 0..4 is (x / 4) between the edges, flat outside; (u - 1/2) * sqrt(12)."""
    p = Preprocessing.fit("quantile", COLUMN, bins=4)
    got = p.apply(np.array([[-1.0], [0.0], [1.0], [3.0], [9.0]]))[:, 0]
    u = np.array([0.0, 0.0, 0.25, 0.75, 1.0])
    np.testing.assert_allclose(got, (u - 0.5) * np.sqrt(12))


def test_repeated_values_and_constant_features():
    """A 0/1 feature has one bin (ple: the value itself; quantile: the mean level at each value);
    a constant feature has none (ple: zeros; quantile: 0)."""
    X = np.array([[0.0, 7.0]] * 7 + [[1.0, 7.0]] * 3)
    ple = Preprocessing.fit("ple", X, bins=4)
    assert [len(b) for b in ple.edges] == [2, 1]
    out = ple.apply(X)
    assert out.shape == (10, 8)
    np.testing.assert_array_equal(out[:, 0], X[:, 0])
    assert not out[:, 1:].any()
    q = Preprocessing.fit("quantile", X, bins=4).apply(X)
    assert q.shape == (10, 2) and np.isfinite(q).all()
    assert q[0, 0] < q[-1, 0] and not q[:, 1].any()


@pytest.mark.parametrize("kind", ["ple", "quantile"])
def test_shapes_and_monotone(kind):
    gen = np.random.default_rng(0)
    X = gen.lognormal(size=(500, 3))
    p = resolve(kind, X, bins=8)
    width = input_width(kind, 3, 8)
    assert p.width(3) == width == (24 if kind == "ple" else 3)
    grid = np.linspace(-1, 40, 400)
    out = p.apply(np.column_stack([grid] * 3), np.float32)
    assert out.shape == (400, width) and out.dtype == np.float32
    # each output rises (or stays) with its feature: monotone encodings
    assert (np.diff(out, axis=0) >= -1e-6).all()
    if kind == "quantile":
        z = p.apply(X)
        np.testing.assert_allclose(z.mean(axis=0), 0, atol=0.05)
        np.testing.assert_allclose(z.std(axis=0), 1, atol=0.1)  # 8 knots: near uniform


@pytest.mark.parametrize("kind", ["ple", "quantile"])
def test_stored_as_plain_lists_and_reloaded(kind, tmp_path):
    gen = np.random.default_rng(1)
    X = gen.normal(size=(200, 4))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    model = bpnn.fit(X, y, preprocessing=kind, bins=6, epochs=3)
    assert model.net.n_inputs == (24 if kind == "ple" else 4) and model.n_features == 4
    stored = json.loads(json.dumps(model.preprocessing.to_dict()))  # plain JSON
    assert stored["kind"] == kind and stored["bins"] == 6 and len(stored["edges"]) == 4
    model.save(tmp_path / "m.npz")
    again = bpnn.load(tmp_path / "m.npz")
    assert again.preprocessing.kind == kind
    np.testing.assert_array_equal(again.outputs(X), model.outputs(X))
    with pytest.raises(ValueError, match="4 features"):
        again.predict(X[:, :3])


def test_bad_stored_edges_are_a_format_error():
    with pytest.raises(FormatError, match="increasing"):
        Preprocessing.from_dict({"kind": "ple", "bins": 4, "edges": [[0, 2, 1]]})
    with pytest.raises(FormatError, match="CDF"):
        Preprocessing.from_dict({"kind": "quantile", "bins": 4, "edges": [[0, 1]]})


def test_cli_train_and_predict_with_ple(tmp_path, capsys):
    gen = np.random.default_rng(2)
    X = gen.normal(size=(120, 3))
    y = (X[:, 0] > 0).astype(int)
    data = tmp_path / "d.csv"
    np.savetxt(data, np.column_stack([X, y]), delimiter=",", header="a,b,c,y", comments="")
    rows = tmp_path / "rows.csv"
    np.savetxt(rows, X[:5], delimiter=",", header="a,b,c", comments="")
    out = tmp_path / "run"
    args = ["train", "--data", str(data), "--target", "y", "--preprocessing", "ple"]
    assert main([*args, "--bins", "5", "--epochs", "2", "--out", str(out)]) == 0
    model = bpnn.load(out / "model.npz")
    assert model.net.sizes[0] == 15 and model.preprocessing.bins == 5
    assert main(["predict", str(out / "model.npz"), "--rows", str(rows)]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) >= 5


@pytest.mark.parametrize("kind", ["ple", "quantile"])
@pytest.mark.parametrize("task", ["classify", "regress"])
def test_onnx_agrees(kind, task):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from bpnn.export import to_onnx

    gen = np.random.default_rng(3)
    X = gen.normal(size=(300, 3)) * [1, 50, 0.01]
    y = X[:, 0] + X[:, 1] / 50 > 0 if task == "classify" else X[:, 0] - X[:, 2] * 100
    target = y.astype(int) if task == "classify" else y
    model = bpnn.fit(X, target, task=task, preprocessing=kind, epochs=30)
    new = np.vstack([gen.normal(size=(200, 3)) * [3, 150, 0.03], X[:5]]).astype(np.float32)
    session = ort.InferenceSession(to_onnx(model).SerializeToString())
    got = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"input": new})))
    if task == "classify":
        np.testing.assert_allclose(got["probabilities"], model.predict_proba(new), atol=1e-5)
        np.testing.assert_array_equal(got["label"], model.predict(new))
    else:
        np.testing.assert_allclose(got["values"][:, 0], model.predict(new), atol=1e-5)
