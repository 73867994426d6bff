"""ONNX export: onnx.checker passes and onnxruntime gives bpnn's outputs (1e-5) and labels."""

import json

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import bpnn  # noqa: E402
from bpnn.cli import main  # noqa: E402
from bpnn.export import OPSET, to_onnx  # noqa: E402
from conftest import HIDDEN as ACTIVATIONS  # noqa: E402


def run_onnx(proto, X):
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, {"input": X})))


def tabular(n=200, seed=0):
    gen = np.random.default_rng(seed)
    X = gen.normal(size=(n, 6)) * [1, 10, 100, 0.1, 1, 5] + [0, 50, -3, 0, 1, 0]
    score = X[:, 0] + X[:, 1] / 10 - X[:, 3] * 10
    return X, np.digitize(score, np.quantile(score, [0.33, 0.66]))


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize(
    "loss,labels",
    [
        ("cross_entropy", [3, 5, 7]),
        ("squared", ["a", "b", "c"]),
        ("binary_cross_entropy", [0, 1, 2]),
    ],
)
def test_tabular_classifier_matches_bpnn(activation, loss, labels):
    X, y = tabular()
    y = np.asarray(labels)[y]
    model = bpnn.fit(X, y, hidden=[12, 7], activation=activation, loss=loss, epochs=3)
    proto = to_onnx(model)
    onnx.checker.check_model(proto, full_check=True)
    out = run_onnx(proto, X.astype(np.float32))
    np.testing.assert_allclose(out["probabilities"], model.predict_proba(X), atol=1e-5)
    np.testing.assert_array_equal(out["label"], model.predict(X))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_regressor_matches_bpnn(activation):
    X, _ = tabular()
    Y = np.stack([X[:, 0] * 300 + 20, X[:, 1] - X[:, 2]], axis=1)
    model = bpnn.fit(X, Y, hidden=[8], activation=activation, epochs=3, dtype="float64")
    out = run_onnx(to_onnx(model), X)
    np.testing.assert_allclose(out["values"], model.predict(X), rtol=1e-5, atol=1e-9)


def test_metadata_opset_and_a_bare_network():
    X, y = tabular()
    model = bpnn.fit(X, y, hidden=[8], epochs=2, preprocessing="standardize")  # Sub + Div
    proto = to_onnx(model)
    meta = {p.key: json.loads(p.value) for p in proto.metadata_props}
    assert meta["architecture"]["sizes"] == [6, 8, 3] and meta["classes"] == [0, 1, 2]
    assert meta["results"]["epochs"] == 2 and meta["task"] == "classify"
    assert proto.opset_import[0].version == OPSET
    ops = {n.op_type for n in proto.graph.node}
    assert {"Gemm", "Relu", "Softmax", "Sub", "Div", "ArgMax"} <= ops
    out = run_onnx(to_onnx(model.net), np.zeros((2, 6), np.float32))
    assert out["outputs"].shape == (2, 3)


def test_cli_export(tmp_path, capsys):
    X, y = tabular()
    bpnn.fit(X, y, hidden=[8], epochs=2, out=tmp_path / "run")
    assert main(["export", str(tmp_path / "run"), "--out", str(tmp_path / "m.onnx"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["outputs"] == ["probabilities", "label"] and info["opset"] == OPSET
    onnx.checker.check_model(str(tmp_path / "m.onnx"))
    assert main(["export", str(tmp_path / "missing"), "--out", str(tmp_path / "x.onnx")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bpnn export: error:") and "\n" not in err


@pytest.mark.slow
@pytest.mark.parametrize(
    "activation,loss",
    [
        ("relu", "cross_entropy"),
        ("sigmoid", "squared"),
        ("tanh", "cross_entropy"),
        ("leaky_relu", "cross_entropy"),
        ("identity", "cross_entropy"),
    ],
)
def test_mnist_model_on_the_10000_test_images(mnist_dir, activation, loss):
    from bpnn.data import load_mnist

    images, labels = load_mnist(mnist_dir, "train")
    test_images, _ = load_mnist(mnist_dir, "test")
    model = bpnn.fit(
        images[:6000],
        labels[:6000],
        hidden=[300],
        activation=activation,
        loss=loss,
        epochs=1,
        optimizer="momentum",
        lr=0.05 if loss == "cross_entropy" else 0.3,
        batch_size=64,
    )
    proto = to_onnx(model)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.UINT8
    out = run_onnx(proto, test_images)
    np.testing.assert_allclose(out["probabilities"], model.predict_proba(test_images), atol=1e-5)
    np.testing.assert_array_equal(out["label"], model.predict(test_images))
