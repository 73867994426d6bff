"""Watching and steering a run: callbacks (``bpnn.callbacks``), history.csv, what early stopping
monitors, a validation set of the user's (``X_val=``, ``--val``) and ``--class-weight``."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import bpnn
from bpnn import load as load_model
from bpnn.callbacks import Callback
from bpnn.prepare import class_sample_weights
from bpnn.settings import TrainConfig, defaults
from conftest import run_cli
from test_any_data import blobs, write_csv


class Recorder(Callback):
    """Records every call; asks to stop after epoch ``stop_at`` (None: never)."""

    def __init__(self, stop_at=None):
        self.calls, self.stop_at = [], stop_at

    def on_run_start(self, run):
        self.calls.append(("start", run.epoch))

    def on_epoch_end(self, epoch, metrics):
        metrics["train_loss"] = -1.0  # a copy: the run's record is not changed
        self.calls.append(("epoch", epoch))
        return self.stop_at is not None and epoch >= self.stop_at

    def on_checkpoint(self, path):
        self.calls.append(("checkpoint", path.name))

    def on_run_end(self, results):
        self.calls.append(("end", results["stop_reason"]))


@pytest.fixture(scope="module")
def flowers():
    return blobs(200, np.random.default_rng(3))


def noisy(n, seed):
    """Two overlapping classes (no model does better than ~30% error): a run soon overfits."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return rng.normal(0, 1, (n, 4)) + 0.5 * y[:, None], y


def small(**settings):
    return {"hidden": [8], "epochs": 6, "seed": 1, **settings}


def test_callbacks_are_called_in_order_and_change_nothing(flowers, tmp_path):
    X, y = flowers
    rec = Recorder()
    with_cb = bpnn.fit(X, y, out=tmp_path / "a", callbacks=[rec], **small())
    without = bpnn.fit(X, y, out=tmp_path / "b", **small())
    for p, q in zip(with_cb.net.params(), without.net.params()):
        np.testing.assert_array_equal(p, q)  # callbacks only watch
    assert rec.calls[0] == ("start", 0) and rec.calls[-1] == ("end", "ran all 6 epochs")
    assert rec.calls[1:4] == [("epoch", 1), ("checkpoint", "checkpoint.npz"), ("epoch", 2)]
    assert [e["train_loss"] > 0 for e in with_cb.history.epochs] == [True] * 6


def test_fit_without_a_folder_writes_no_files(flowers, tmp_path, monkeypatch):
    """bpnn.fit(out=None) keeps the run in memory: no temporary run folder, no checkpoints (they
    were most of a small table's time), and the same weights as a run with a folder."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    X, y = flowers
    seen = []

    class Look(Recorder):
        def on_epoch_end(self, epoch, metrics):
            seen.extend(p.name for p in (tmp_path / "tmp").iterdir())

    rec = Look()
    model = bpnn.fit(X, y, callbacks=[rec], **small())
    assert seen == [] and not any(c[0] == "checkpoint" for c in rec.calls)
    assert len(model.history.epochs) == 6 and model.results["epochs"] == 6
    kept = bpnn.fit(X, y, out=tmp_path / "run", **small())
    for p, q in zip(model.net.params(), kept.net.params()):
        np.testing.assert_array_equal(p, q)


def test_a_callback_may_stop_the_run(flowers, tmp_path):
    X, y = flowers
    rec = Recorder(stop_at=2)
    model = bpnn.fit(X, y, out=tmp_path / "run", callbacks=[rec], **small())
    assert model.results["epochs"] == 2 and model.results["stopped_early"]
    assert model.results["stop_reason"] == "stopped by callback Recorder"
    assert ("end", "stopped by callback Recorder") in rec.calls
    assert load_model(tmp_path / "run" / "model.npz").info.results["epochs"] == 2


def test_estimators_take_callbacks(flowers):
    from bpnn.sklearn import BPNNClassifier

    X, y = flowers
    rec = Recorder(stop_at=3)
    clf = BPNNClassifier(hidden_layer_sizes=(8,), max_iter=10, callbacks=[rec], random_state=0)
    clf.fit(X, y)
    assert clf.n_iter_ == 3 and rec.calls[0] == ("start", 0)


def test_a_non_callback_is_refused(flowers):
    X, y = flowers
    with pytest.raises(TypeError, match="not a callback"):
        bpnn.fit(X, y, callbacks=[object()], **small())


def test_history_csv_holds_the_epochs(flowers, tmp_path):
    X, y = flowers
    bpnn.fit(X, y, out=tmp_path / "run", **small(eval_every=2, monitor="val_loss"))
    rows = list(csv.DictReader((tmp_path / "run" / "history.csv").open()))
    epochs = json.loads((tmp_path / "run" / "history.json").read_text())["epochs"]
    assert [int(r["epoch"]) for r in rows] == [e["epoch"] for e in epochs] == list(range(1, 7))
    assert rows[0]["val_error"] == "" and float(rows[1]["val_loss"]) == epochs[1]["val_loss"]
    assert float(rows[5]["train_loss"]) == epochs[5]["train_loss"]


def test_monitor_val_loss_selects_on_the_loss(flowers, tmp_path):
    X, y = flowers
    model = bpnn.fit(X, y, **small(monitor="val_loss", epochs=10))
    losses = [e["val_loss"] for e in model.history.epochs]
    assert model.history.best_error == min(losses)
    assert model.results["best_epoch"] == 1 + losses.index(min(losses))


def test_val_rmse_is_for_regression():
    with pytest.raises(ValueError, match="val_rmse is for regression"):
        TrainConfig(monitor="val_rmse")
    TrainConfig(task="regress", monitor="val_rmse", loss="squared", output="identity")


def test_small_tabular_data_stops_when_nothing_improves():
    """The tabular default watches the validation loss: a run that overfits stops (its error
    rate, 15 samples, ties and restarts patience: with monitor val_error it runs all epochs)."""
    assert defaults("tabular", "classify")["monitor"] == "val_loss"
    assert defaults("image", "classify")["monitor"] == "val_error"
    X, y = noisy(150, 0)
    stopped = bpnn.fit(X, y, seed=0).results
    assert stopped["stopped_early"] and stopped["epochs"] < 300, stopped
    assert "val loss did not improve" in stopped["stop_reason"]


def test_a_validation_set_of_ones_own(flowers):
    X, y = flowers
    Xv, yv = blobs(30, np.random.default_rng(9))
    model = bpnn.fit(X, y, X_val=Xv, y_val=yv, **small())
    assert model.results["val_samples"] == 30
    assert model.results["train_samples"] == 160  # only the test fifth is held out
    with pytest.raises(ValueError, match="both X_val and y_val"):
        bpnn.fit(X, y, X_val=Xv, **small())
    with pytest.raises(ValueError, match="both X_test and y_test"):
        bpnn.fit(X, y, X_test=Xv, **small())
    for bad in (None, 3, "labels"):  # (a traceback from len() or NumPy before)
        with pytest.raises(ValueError, match="y must hold one target per row"):
            bpnn.fit(X, bad, **small())
    with pytest.raises(ValueError, match="y_val must hold one target per row"):
        bpnn.fit(X, y, X_val=Xv, y_val=1, **small())


def test_class_sample_weights():
    y = np.array(["a", "a", "a", "b"])
    np.testing.assert_allclose(class_sample_weights(y, "balanced"), [2 / 3] * 3 + [2])
    np.testing.assert_allclose(class_sample_weights(y, {"b": 3}), [1, 1, 1, 3])
    with pytest.raises(bpnn.BpnnError, match="unknown class"):
        class_sample_weights(y, {"c": 1})
    with pytest.raises(bpnn.BpnnError, match=">= 0"):
        class_sample_weights(y, {"a": "x"})


def test_cli_val_and_class_weight_resume_bit_identically(flowers, tmp_path, capsys):
    X, y = flowers
    data = write_csv(tmp_path / "f.csv", ["a", "b", "c"], [[a, b, c] for (a, b), c in zip(X, y)])
    Xv, yv = blobs(40, np.random.default_rng(4))
    val = write_csv(tmp_path / "v.csv", ["a", "b", "c"], [[a, b, c] for (a, b), c in zip(Xv, yv)])
    weights = tmp_path / "w.json"
    weights.write_text('{"setosa": 3}')
    common = ["train", "--data", data, "--val", val, "--class-weight", weights, "--no-report"]
    common += ["--hidden", "8", "--seed", "2"]
    code, out, err = run_cli(capsys, *common, "--out", tmp_path / "full", "--epochs", "6")
    assert code == 0, err
    assert "160 training, 40 validation" in out
    code, _, err = run_cli(capsys, *common, "--out", tmp_path / "half", "--epochs", "3")
    assert code == 0, err
    code, _, err = run_cli(capsys, "train", "--resume", tmp_path / "half", "--epochs", "6")
    assert code == 0, err
    full, half = (load_model(tmp_path / d / "model.npz") for d in ("full", "half"))
    assert full.info.data.to_dict().get("class_weight") == {"setosa": 3}
    for p, q in zip(full.net.params(), half.net.params()):
        np.testing.assert_array_equal(p, q)
    code, _, err = run_cli(capsys, *common[:-2], "--class-weight", "nofile.json")
    assert code == 2 and "nofile.json" in err


def test_cli_class_weight_is_for_classification(tmp_path, capsys):
    rows = [[i, 0.5 * i] for i in range(40)]
    data = write_csv(tmp_path / "r.csv", ["x", "y"], rows)
    code, _, err = run_cli(
        capsys, "train", "--data", data, "--class-weight", "balanced", "--out", tmp_path / "r"
    )
    assert code == 2 and "for classification" in err


def test_run_eta_counts_the_epochs_still_to_come():
    from bpnn.watch import run_eta

    assert run_eta(50, 100, 10.0, 2, None) == "run 0:50 left"  # 10 s left here, 2 x 20 s after
    assert run_eta(50, 100, 10.0, 2, 30.0) == "run 1:10 left"
    assert run_eta(1, 100, 40.0, 0, None) == "run 1:06:00 left"
    assert run_eta(0, 100, 0.0, 3, None) == "run ?"


def test_fit_verbose_shows_the_bar_and_the_log(flowers, capsys):
    X, y = flowers
    bpnn.fit(X, y, verbose=True, **small(epochs=2))
    out, err = capsys.readouterr()
    assert "epoch   2" in out and "run " in err and "left" in err


def test_resuming_a_finished_run_says_why_nothing_trains(flowers, tmp_path):
    X, y = flowers
    bpnn.fit(X, y, out=tmp_path / "run", **small(epochs=2))
    lines: list = []
    model = bpnn.fit(X, y, out=tmp_path / "run", resume=True, log=lines.append)
    assert model.results["epochs"] == 2
    said = [line for line in lines if line.startswith("nothing to train")]
    assert said and "ran all 2 epochs" in said[0] and "more than 2" in said[0]


def test_metrics_in_one_format():
    from bpnn.history import History, format_loss, plural

    assert plural(1, "epoch") == "1 epoch" and plural(3, "epoch") == "3 epochs"
    assert format_loss(103387540005251104768.0) == "1.0339e+20"
    assert format_loss(0.123456) == "0.12346"
    assert History().format_error(0.0172) == "1.72%"
    assert History(metric="rmse").format_error(12.345678) == "12.346"


def test_stop_reason_says_the_error_as_a_percentage(tmp_path):
    X, y = noisy(150, 0)
    results = bpnn.fit(X, y, seed=0, monitor="val_error", patience=1).results
    assert results["stopped_early"] and "%" in results["stop_reason"], results["stop_reason"]
    assert "evaluation (" in results["stop_reason"]  # 1 evaluation, not "1 evaluation(s)"


def test_a_loaded_model_has_results_and_history(flowers, tmp_path):
    X, y = flowers
    fitted = bpnn.fit(X, y, out=tmp_path / "run", **small(epochs=3))
    for path in (tmp_path / "run", tmp_path / "run" / "model.npz"):
        loaded = load_model(path)
        assert loaded.results["epochs"] == fitted.results["epochs"] == 3
        assert loaded.history.epochs == fitted.history.epochs
    fitted.save(tmp_path / "alone.npz")  # a model file on its own: no history beside it
    assert load_model(tmp_path / "alone.npz").history.epochs == []


def test_a_float32_network_is_gradient_checked_as_a_float64_copy():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(5, 4)), np.array([0, 1, 1, 0, 1])
    net = bpnn.Network([4, 8, 2], loss="cross_entropy", output="softmax", dtype="float32", seed=0)
    assert net.dtype == np.float32
    report = bpnn.check_network(net, X, y, eps=1e-5)
    assert report.passed and "float64 copy" in report.details["checked_as"]
    assert net.dtype == np.float32  # the network itself is untouched
