"""Regression predictions kept within the training targets' range (``--target-range``).

A network extrapolates from inputs it never saw; the clip bounds what it answers to what it was
shown, as the model file says (``Targets.low``/``high``), in predict, evaluation, the saved and
loaded model, the ONNX graph and scikit-learn's estimator.
"""

import numpy as np
import pytest

import bpnn
from bpnn.errors import FormatError
from bpnn.targets import Targets


def line(n=400, seed=0):
    """y = 3x + 1 on x in [0, 1): a network extrapolates it well beyond 4 at x = 10."""
    gen = np.random.default_rng(seed)
    X = gen.uniform(0, 1, size=(n, 1))
    return X, 3 * X[:, 0] + 1


def test_the_range_is_the_training_targets_per_value_and_decode_clips_to_it():
    y = np.array([[1.0, -5.0], [4.0, 2.0], [2.5, 0.0]])
    t = Targets.fit(y, "regress")
    np.testing.assert_array_equal(t.low, [1.0, -5.0])
    np.testing.assert_array_equal(t.high, [4.0, 2.0])
    # outputs are standardized values: mean + std * output
    outputs = (np.array([[10.0, -10.0], [0.0, 0.0], [np.nan, 0.0]]) - t.mean) / t.std
    got = t.decode(outputs)
    np.testing.assert_allclose(got[0], [4.0, -5.0])  # each value clipped on its own
    np.testing.assert_allclose(got[1], [1.0, 0.0], atol=1e-12)  # 0 is below the first's low
    assert np.isnan(got[2, 0])  # NaN is not turned into a bound
    np.testing.assert_allclose(got[2, 1], 0.0, atol=1e-12)
    assert "kept within the training targets' range (1..4, -5..2)" in t.describe()


def test_target_range_none_keeps_no_range_and_clips_nothing():
    t = Targets.fit(np.array([1.0, 2.0, 3.0]), "regress", target_range="none")
    assert t.low is None and t.high is None
    assert t.decode(np.array([[100.0]]))[0] > 3
    assert "kept within" not in t.describe()
    with pytest.raises(ValueError, match="target range"):
        Targets.fit(np.array([1.0, 2.0]), "regress", target_range="wide")


def test_the_range_is_saved_and_a_model_file_without_one_clips_nothing():
    t = Targets.fit(np.array([1.0, 2.0, 3.0]), "regress")
    data = t.to_dict()
    assert data["range"] == {"low": [1.0], "high": [3.0]}
    back = Targets.from_dict(data, 1)
    np.testing.assert_array_equal(back.low, [1.0])
    np.testing.assert_array_equal(back.high, [3.0])
    old = {k: v for k, v in data.items() if k != "range"}  # a model saved before the range
    assert Targets.from_dict(old, 1).low is None
    for bad in (
        {"low": [3.0], "high": [1.0]},
        {"low": [1.0, 2.0], "high": [3.0, 4.0]},
        {"low": [float("nan")], "high": [1.0]},
        {"low": ["a"], "high": [1.0]},
        {"low": [1.0]},
        [1.0, 3.0],
        "x",
    ):
        with pytest.raises(FormatError, match=r"range must be \{\"low\": \[1 numbers\]"):
            Targets.from_dict({**data, "range": bad}, 1)


def test_widen_holds_every_target_trained_on():
    t = Targets.fit(np.array([1.0, 2.0]), "regress")
    t.widen(np.array([-3.0, 1.5]))
    t.widen(np.array([7.0]))
    np.testing.assert_array_equal(t.low, [-3.0])
    np.testing.assert_array_equal(t.high, [7.0])
    none = Targets.fit(np.array([1.0, 2.0]), "regress", target_range="none")
    none.widen(np.array([9.0]))
    assert none.low is None
    two = Targets.fit(np.array([[1.0, 2.0], [3.0, 5.0]]), "regress")
    two.widen(np.array([[0.0, 9.0], [4.0, 1.0]]))
    two.widen(np.empty((0, 2)))
    np.testing.assert_array_equal(two.low, [0.0, 1.0])
    np.testing.assert_array_equal(two.high, [4.0, 9.0])


def test_a_fitted_model_answers_within_the_training_range_and_saves_it(tmp_path):
    X, y = line()
    far = np.array([[10.0], [-10.0], [0.5]])
    clipped = bpnn.fit(X, y, hidden=[16], epochs=60, seed=0)
    free = bpnn.fit(X, y, hidden=[16], epochs=60, seed=0, target_range="none")
    t = clipped.targets
    assert 1.0 <= t.low[0] < 1.1 and 3.9 < t.high[0] <= 4.0  # (the training split's)
    unbounded = free.predict(far)
    assert unbounded[0] > t.high[0] + 1  # the network extrapolates the line
    got = clipped.predict(far)
    assert got[0] == t.high[0] and got[1] == t.low[0]
    assert got[2] == unbounded[2]  # inside the range: the same answer
    path = tmp_path / "model.npz"
    clipped.save(path)
    np.testing.assert_array_equal(bpnn.load(path).predict(far), got)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("outputs", [1, 2])
def test_the_onnx_graph_clips_as_bpnn(dtype, outputs):
    """Each value within its own output's range, in the network's float type."""
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from bpnn.export import to_onnx
    from helpers_onnx import run_graph

    X, y = line()
    Y = y if outputs == 1 else np.column_stack([y, 5 - 2 * y])
    model = bpnn.fit(X, Y, hidden=[16], epochs=60, seed=0, dtype=dtype)
    far = np.array([[10.0], [-10.0], [0.25], [0.9]], dtype=model.net.dtype)
    values = run_graph(to_onnx(model), {"input": far})["values"]
    want = model.predict(far).reshape(len(far), -1)
    assert values.shape == (len(far), outputs)
    np.testing.assert_allclose(values, want, rtol=1e-5)
    high, low = model.targets.high.astype(dtype), model.targets.low.astype(dtype)
    np.testing.assert_array_equal(values[0, :1], high[:1])  # (x = 10: the line's top)
    np.testing.assert_array_equal(values[1, :1], low[:1])
    if outputs == 2:  # (the second falls as x grows)
        np.testing.assert_array_equal(values[:2, 1], [low[1], high[1]])


def test_the_scikit_learn_regressor_clips_to_every_target_it_was_fit_on():
    pytest.importorskip("sklearn")
    from bpnn.sklearn import BPNNRegressor

    X, y = line(200)
    reg = BPNNRegressor(hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    reg.partial_fit(X, y)
    assert reg.model_.targets.high[0] == y.max()
    reg.partial_fit(X, y + 10)  # a later batch beyond the first one's range
    assert reg.model_.targets.high[0] == y.max() + 10
    assert reg.predict(np.array([[1000.0]]))[0] <= y.max() + 10
    warm = BPNNRegressor(hidden_layer_sizes=(16,), max_iter=5, random_state=0, warm_start=True)
    warm.fit(X, y).fit(X, y - 10)  # a warm start goes on from the first fit's range
    assert (warm.model_.targets.low[0], warm.model_.targets.high[0]) == (y.min() - 10, y.max())
    fresh = BPNNRegressor(hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    assert fresh.fit(X, y).fit(X, y - 10).model_.targets.high[0] == y.max() - 10  # (anew)
