"""The scikit-learn estimators: bpnn's training underneath, scikit-learn's tools on top, bpnn's files."""

import pickle

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_digits, load_wine
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import bpnn
from bpnn.cli import main
from bpnn.sklearn import BPNNClassifier, BPNNRegressor


@pytest.fixture(scope="module")
def wine():
    return load_wine(return_X_y=True)


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


def test_same_settings_give_the_same_weights_as_bpnn_fit(wine):
    X, y = wine
    est = BPNNClassifier(
        (16,),
        solver="sgd",
        momentum=0.9,
        nesterovs_momentum=False,
        alpha=0.0,
        batch_size=32,
        learning_rate_init=0.01,
        max_iter=5,
        random_state=3,
    ).fit(X, y)
    model = bpnn.fit(
        X,
        y,
        hidden=[16],
        optimizer="momentum",
        momentum=0.9,
        lr=0.01,
        batch_size=32,
        epochs=5,
        seed=3,
        stop_on="loss",
        patience=10,
        min_delta=1e-4,
        test_fraction=0,
        preprocessing="standardize",  # the estimator's "auto"; bpnn.fit's tabular default: ple
        dropout=0.0,
    )
    for a, b in zip(est.model_.net.params(), model.net.params()):
        np.testing.assert_array_equal(a, b)
    assert est.model_.net.sizes == [13, 16, 3] and est.history_.stepper == "compiled-small-net"


def test_fitted_attributes_and_methods(wine):
    X, y = wine
    est = BPNNClassifier((20,), max_iter=30, learning_rate_init=0.02, random_state=0).fit(X, y)
    assert est.n_features_in_ == 13 and list(est.classes_) == [0, 1, 2]
    assert est.n_iter_ == len(est.loss_curve_) <= 30 and est.t_ == est.n_iter_ * len(X)
    assert est.validation_scores_ is None and est.best_loss_ == min(est.loss_curve_)
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(est.predict_log_proba(X), np.log(proba), rtol=1e-6)
    assert est.score(X, y) > 0.9
    assert [c.shape for c in est.coefs_] == [(13, 20), (20, 3)]
    assert "check_sample_weight_equivalence_on_dense_data" in est.expected_failed_checks()


def test_early_stopping_restores_the_best_weights(wine):
    X, y = wine
    est = BPNNClassifier(
        (20,), early_stopping=True, n_iter_no_change=3, max_iter=200, random_state=0
    ).fit(X, y)
    assert len(est.validation_scores_) == est.n_iter_
    best = int(np.argmax(est.validation_scores_))
    assert est.best_validation_score_ == est.validation_scores_[best]
    assert est.history_.best_epoch == best + 1


def test_pipeline_grid_search_cross_validation_clone_and_pickle(wine):
    X, y = wine
    pipe = make_pipeline(StandardScaler(), BPNNClassifier(max_iter=20, random_state=0))
    grid = GridSearchCV(
        pipe,
        {
            "bpnnclassifier__hidden_layer_sizes": [(8,), (16,)],
            "bpnnclassifier__learning_rate_init": [0.01],
        },
        cv=3,
    ).fit(X, y)
    assert grid.best_score_ > 0.8
    assert cross_val_score(BPNNClassifier(max_iter=20, random_state=0), X, y, cv=3).mean() > 0.8
    est = grid.best_estimator_[-1]
    assert clone(est).get_params() == est.get_params()
    again = pickle.loads(pickle.dumps(grid.best_estimator_))
    np.testing.assert_array_equal(again.predict_proba(X), grid.best_estimator_.predict_proba(X))


def test_partial_fit_and_warm_start_continue_from_the_current_weights(wine):
    X, y = wine
    est = BPNNClassifier((16,), learning_rate_init=0.01, random_state=0)
    with pytest.raises(ValueError, match="classes"):
        est.partial_fit(X, y)
    est.partial_fit(X[:100], y[:100], classes=[0, 1, 2])
    first = [p.copy() for p in est.model_.net.params()]
    est.partial_fit(X[100:], y[100:])
    assert est.n_iter_ == 2 and est.t_ == len(X)
    assert not np.array_equal(first[0], est.model_.net.params()[0])
    warm = BPNNClassifier((16,), max_iter=3, warm_start=True, random_state=0).fit(X, y)
    before = [p.copy() for p in warm.model_.net.params()]
    warm.fit(X, y)
    cold = BPNNClassifier((16,), max_iter=3, random_state=0).fit(X, y)
    np.testing.assert_array_equal(cold.model_.net.params()[0], before[0])  # same first fit
    assert warm.n_iter_ == 6 and not np.array_equal(warm.model_.net.params()[0], before[0])


def test_sample_and_class_weights(wine):
    X, y = wine
    ones = BPNNClassifier((8,), max_iter=5, random_state=0).fit(X, y, sample_weight=np.ones(len(y)))
    none = BPNNClassifier((8,), max_iter=5, random_state=0).fit(X, y)
    np.testing.assert_array_equal(ones.model_.net.params()[0], none.model_.net.params()[0])
    # a class weighted very heavily is predicted more often
    heavy = BPNNClassifier((8,), max_iter=20, random_state=0, class_weight={0: 1, 1: 1, 2: 50}).fit(
        X, y
    )
    assert (heavy.predict(X) == 2).sum() >= (none.predict(X) == 2).sum()
    balanced = BPNNClassifier((8,), max_iter=5, random_state=0, class_weight="balanced").fit(X, y)
    assert balanced.score(X, y) > 0.5


def test_multilabel_through_binary_cross_entropy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    Y = np.stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0], axis=1).astype(int)
    est = BPNNClassifier((16,), max_iter=100, random_state=0).fit(X, Y)
    assert est.model_.net.loss_name == "binary_cross_entropy" and list(est.classes_) == [0, 1]
    assert est.predict(X).shape == (300, 2) and (est.predict(X) == Y).mean() > 0.9
    assert est.predict_proba(X).shape == (300, 2)


def test_regressor(diabetes):
    X, y = diabetes
    est = BPNNRegressor((32,), max_iter=200, learning_rate_init=0.01, random_state=0).fit(X, y)
    assert est.score(X, y) > 0.5
    Y = np.stack([y, -y], axis=1)
    two = BPNNRegressor((16,), max_iter=50, random_state=0).fit(X, Y)
    assert two.predict(X).shape == (len(X), 2)
    early = BPNNRegressor((16,), early_stopping=True, max_iter=50, random_state=0).fit(X, y)
    assert early.best_validation_score_ == max(early.validation_scores_)


def test_dataframe_feature_names(wine):
    pd = pytest.importorskip("pandas")
    X, y = wine
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(13)])
    est = BPNNClassifier((8,), max_iter=5, random_state=0).fit(frame, y)
    assert list(est.feature_names_in_) == [f"f{i}" for i in range(13)]


@pytest.mark.parametrize(
    "params, match",
    [
        ({"solver": "lbfgs"}, "solver"),
        ({"activation": "swish"}, "activation"),
        ({"alpha": -1}, "alpha"),
        ({"batch_size": 0}, "batch_size"),
        ({"max_iter": 0}, "max_iter"),
        ({"learning_rate_init": 0}, "learning_rate_init"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
        ({"dropout": 1.0}, "dropout"),
        ({"schedule": "cyclic"}, "schedule"),
        ({"preprocessing": "whiten"}, "preprocessing"),
        ({"loss": "hinge"}, "loss"),
        ({"targets": "on"}, "targets"),
        ({"class_weight": 3}, "class_weight"),
        ({"momentum": 2}, "momentum"),
        ({"tol": -1}, "tol"),
        ({"n_iter_no_change": 0}, "n_iter_no_change"),
    ],
)
def test_bad_parameters_fail_at_fit_with_a_clear_value_error(wine, params, match):
    X, y = wine
    with pytest.raises(ValueError, match=match):
        BPNNClassifier(**params).fit(X, y)


def test_model_files_go_both_ways(tmp_path, wine, capsys):
    X, y = wine
    est = BPNNClassifier((8,), max_iter=10, random_state=0).fit(X, y)
    est.save(tmp_path / "model.npz")
    loaded = BPNNClassifier.load(tmp_path / "model.npz")
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    assert bpnn.load(tmp_path / "model.npz").predict(X[:5]).tolist() == est.predict(X[:5]).tolist()
    np.savez(tmp_path / "wine.npz", X_train=X, y_train=y, X_test=X, y_test=y)
    assert (
        main(
            [
                "evaluate",
                str(tmp_path / "model.npz"),
                "--data",
                str(tmp_path / "wine.npz"),
                "--json",
            ]
        )
        == 0
    )
    assert '"accuracy"' in capsys.readouterr().out
    # a model trained by bpnn (the library behind `bpnn train`) is a fitted estimator too
    model = bpnn.fit(X, y, hidden=[8], epochs=2, out=tmp_path / "run")
    from_cli = BPNNClassifier.load(tmp_path / "run" / "model.npz")
    assert from_cli.score(X, y) == pytest.approx(np.mean(model.predict(X) == y))
    with pytest.raises(ValueError, match="classifier"):
        BPNNRegressor.load(tmp_path / "run")


def test_regressor_files(tmp_path, diabetes):
    X, y = diabetes
    est = BPNNRegressor((8,), max_iter=10, random_state=0).fit(X, y)
    est.save(tmp_path / "r.npz")
    np.testing.assert_allclose(BPNNRegressor.load(tmp_path / "r.npz").predict(X), est.predict(X))
    # a regressor's file is not a classifier (was loaded with classes_ None, predicting values)
    with pytest.raises(ValueError, match="holds a regressor"):
        BPNNClassifier.load(tmp_path / "r.npz")


def test_digits_are_learned_quickly():
    X, y = load_digits(return_X_y=True)
    est = BPNNClassifier((64,), max_iter=30, random_state=0).fit(X[:1200], y[:1200])
    assert est.score(X[1200:], y[1200:]) > 0.9


def test_average_goes_on_across_partial_fit_and_warm_start(diabetes):
    """average under partial_fit / warm_start: each fit goes on from the last one's own weights
    with its average, as one longer run would (each call used to begin a new average, so
    one-epoch partial_fit calls kept their raw weights)."""
    X, y = diabetes
    X = (X - X.mean(0)) / X.std(0)
    starts, ends = [], []

    class Watch:
        def on_run_start(self, run):
            self.run = run
            starts.append([p.copy() for p in run.net.params()])

        def on_epoch_end(self, epoch, metrics):
            ends.append([p.copy() for p in self.run.net.params()])  # the run's own weights

    est = BPNNRegressor((8,), average=0.5, random_state=0, callbacks=[Watch()])
    est.partial_fit(X, y)
    est.partial_fit(X, y)
    for start, own in zip(starts[1], ends[0]):
        np.testing.assert_array_equal(start, own)  # from the raw weights, not the kept average
    for kept, a, b in zip(est.model_.net.params(), ends[0], ends[1]):
        np.testing.assert_allclose(kept, 0.5 * a + 0.5 * b, rtol=1e-5, atol=1e-6)
    starts.clear(), ends.clear()
    warm = BPNNRegressor((8,), average=0.5, max_iter=2, warm_start=True, random_state=0)
    warm.set_params(callbacks=[Watch()]).fit(X, y)
    warm.fit(X, y)
    for start, own in zip(starts[1], ends[1]):
        np.testing.assert_array_equal(start, own)
