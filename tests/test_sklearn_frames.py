"""The scikit-learn estimators on DataFrames of raw columns: text categories, yes/no columns and
missing values go through the table schema (fitted on the training frame, kept in the model)."""

import numpy as np
import pytest

pytest.importorskip("sklearn")
pd = pytest.importorskip("pandas")

import bpnn  # noqa: E402
from bpnn.sklearn import BPNNClassifier, BPNNRegressor  # noqa: E402


def frame(n: int = 200, seed: int = 0):
    gen = np.random.default_rng(seed)
    colour = gen.choice(["red", "green", "blue"], n).astype(object)
    colour[gen.random(n) < 0.1] = None
    age = np.where(gen.random(n) < 0.1, np.nan, gen.normal(40, 12, n))
    member = gen.choice(["yes", "no"], n)
    X = pd.DataFrame({"age": age, "member": member, "colour": colour})
    signal = np.nan_to_num(age, nan=40) / 12 + (member == "yes") + (colour == "red") * 2.0
    return X, signal


def test_classifier_takes_categories_and_gaps(tmp_path):
    X, signal = frame()
    y = np.where(signal > np.median(signal), "high", "low")
    clf = BPNNClassifier(hidden_layer_sizes=(16,), max_iter=60, batch_size=20, random_state=0).fit(
        X, y
    )
    assert clf.n_features_in_ == 3 and list(clf.feature_names_in_) == ["age", "member", "colour"]
    assert clf.score(X, y) > 0.85
    rows = X[X.columns[::-1]].assign(extra=1.0).head(20)  # any order, extra columns ignored
    rows.loc[0, "colour"] = "purple"  # unseen: (other), never an error
    rows.loc[1, "age"] = np.nan
    labels = clf.predict(rows)
    assert labels.shape == (20,) and clf.predict_proba(rows).shape == (20, 2)
    path = tmp_path / "clf.npz"
    clf.save(path)
    np.testing.assert_array_equal(BPNNClassifier.load(path).predict(rows), labels)
    np.testing.assert_array_equal(bpnn.load(path).predict(rows), labels)
    assert list(BPNNClassifier.load(path).feature_names_in_) == ["age", "member", "colour"]
    with pytest.raises(ValueError, match="no column 'member'"):
        clf.predict(X.drop(columns="member"))
    with pytest.raises(ValueError, match="fitted on a DataFrame of raw columns"):
        clf.predict(np.zeros((2, 3)))


def test_regressor_takes_categories_and_gaps_and_partial_fit():
    X, signal = frame()
    reg = BPNNRegressor(hidden_layer_sizes=(16,), max_iter=80, batch_size=20, random_state=0).fit(
        X, signal
    )
    assert reg.score(X, signal) > 0.8
    reg.partial_fit(X.head(50), signal[:50])  # the same schema, one more epoch
    assert reg.predict(X).shape == (200,)


def test_a_frame_of_numbers_is_still_an_array():
    X, signal = frame()
    numeric = pd.DataFrame({"a": signal, "b": np.arange(200.0)})
    reg = BPNNRegressor(max_iter=5, random_state=0)
    by_frame = reg.fit(numeric, signal).predict(numeric)
    assert reg.model_.schema is None and list(reg.feature_names_in_) == ["a", "b"]
    by_array = BPNNRegressor(max_iter=5, random_state=0).fit(numeric.to_numpy(), signal)
    np.testing.assert_array_equal(by_array.predict(numeric.to_numpy()), by_frame)


def test_the_readme_example_runs(capsys):
    from conftest import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    marker = 'X = pd.DataFrame({"age": [31, np.nan, 52, 44] * 25,'
    head, tail = readme.split(marker, 1)
    exec(head.rsplit("```python\n", 1)[1] + marker + tail.split("```", 1)[0], {})
    assert capsys.readouterr().out.strip() == "['no']"
