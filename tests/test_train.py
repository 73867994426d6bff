"""The Trainer: early stopping restores the best weights, resume is bit-identical, Ctrl-C saves,
divergence stops cleanly and keeps the last good checkpoint."""

from __future__ import annotations

import numpy as np
import pytest

import bpnn.train as train_mod
from bpnn import TrainConfig
from bpnn.data.split import Split
from bpnn.modelfile import load_arrays, load_model
from bpnn.train import DivergenceError, Trainer
from conftest import interrupt_after, synthetic_digits


@pytest.fixture(scope="module")
def splits():
    gen = np.random.default_rng(3)
    parts = []
    for n in (300, 60, 60):
        images, labels = synthetic_digits(n, gen)
        parts.append(Split(images.reshape(n, 784), labels))
    return parts


def small_config(**changes) -> TrainConfig:
    base = dict(
        layers=[784, 16, 10],
        activation="relu",
        loss="cross_entropy",
        init="he",
        optimizer="momentum",
        lr=0.05,
        batch_size=16,
        epochs=4,
        eval_every=1,
        patience=10,
    )
    return TrainConfig(**{**base, **changes})


def trainer(cfg, splits, out, log=None) -> Trainer:
    train, val, test = splits
    return Trainer(cfg, train, val, test, out, log=log, progress=False)


def scripted_errors(monkeypatch, errors):
    """Make the selection error follow ``errors``, one value per evaluation."""
    it = iter(errors)
    monkeypatch.setattr(Trainer, "error", lambda self, split: next(it))


@pytest.mark.parametrize(
    "errors, epochs, patience, stopped",
    [
        ([0.5, 0.3, 0.4, 0.45, 0.2], 5, 2, True),  # stops early after two evaluations without gain
        ([0.5, 0.3, 0.4, 0.35], 4, 10, False),  # runs out of epochs after the best one
    ],
)
def test_best_weights_restored_either_way(
    monkeypatch, splits, tmp_path, errors, epochs, patience, stopped
):
    snapshots = []
    t = trainer(small_config(epochs=epochs, patience=patience), splits, tmp_path)
    t.log = lambda line: (  # one snapshot a logged epoch (not the training path's line)
        None
        if line.startswith("training path")
        else snapshots.append([p.copy() for p in t.net.params()])
    )
    scripted_errors(monkeypatch, errors + [0.0] * 3)  # the trailing values serve _finish
    results = t.run()
    assert t.history.stopped_early is stopped
    assert t.history.best_epoch == 2 and results["best_epoch"] == 2
    assert len(snapshots) == (4 if stopped else epochs)
    for final, best, last in zip(t.net.params(), snapshots[1], snapshots[-1]):
        np.testing.assert_array_equal(final, best)
        assert not np.array_equal(best, last)
    saved, _ = load_model(tmp_path / "model.npz")
    for a, b in zip(saved.params(), snapshots[1]):
        np.testing.assert_array_equal(a, b)


def test_tutorial_rule_patience_one_stops_when_error_rises(monkeypatch, splits, tmp_path):
    scripted_errors(monkeypatch, [0.5, 0.4, 0.41] + [0.0] * 3)
    t = trainer(small_config(epochs=10, patience=1), splits, tmp_path)
    t.run()
    assert t.history.stopped_early and t.epoch == 3 and t.history.best_epoch == 2


def test_min_delta_ignores_tiny_improvements(monkeypatch, splits, tmp_path):
    scripted_errors(monkeypatch, [0.5, 0.499, 0.498] + [0.0] * 3)
    t = trainer(small_config(epochs=10, patience=2, min_delta=0.01), splits, tmp_path)
    t.run()
    assert t.history.best_epoch == 1 and t.epoch == 3


def test_evaluates_every_n_epochs_and_at_the_end(splits, tmp_path):
    t = trainer(small_config(epochs=5, eval_every=2), splits, tmp_path)
    t.run()
    evaluated = [r["epoch"] for r in t.history.epochs if r["val_error"] is not None]
    assert evaluated == [2, 4, 5]
    assert all(r["test_error"] is None for r in t.history.epochs)  # test set only at the end


def final_arrays(folder):
    arrays, meta = load_arrays(folder / "checkpoint.npz")
    return arrays, meta


@pytest.mark.parametrize(
    "changes",
    [
        dict(),  # momentum, mini-batches
        dict(optimizer="adam", lr=0.01, dropout=0.3),  # Adam state and dropout masks
        dict(
            activation="sigmoid", loss="squared", optimizer="sgd", lr=0.3, batch_size=1
        ),  # the tutorial's
        dict(optimizer="adam", lr=0.01, average=0.7),  # weights averaged over the epochs
    ],
)
def test_resume_is_bit_identical(splits, tmp_path, changes):
    whole = trainer(small_config(epochs=4, **changes), splits, tmp_path / "whole")
    whole.run()
    half = trainer(small_config(epochs=2, **changes), splits, tmp_path / "half")
    half.run()
    train, val, test = splits
    resumed = Trainer.resume(
        tmp_path / "half", train, val, test, changes={"epochs": 4}, progress=False
    )
    assert resumed.epoch == 2
    resumed.run()
    a, meta_a = final_arrays(tmp_path / "whole")
    b, meta_b = final_arrays(tmp_path / "half")
    assert set(a) == set(b)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert meta_a["rng"] == meta_b["rng"]
    assert [r["train_loss"] for r in meta_a["history"]["epochs"]] == [
        r["train_loss"] for r in meta_b["history"]["epochs"]
    ]


def test_divergence_stops_with_message_and_keeps_last_good_checkpoint(splits, tmp_path):
    t = trainer(small_config(epochs=2), splits, tmp_path)
    t.run()
    good, _ = final_arrays(tmp_path)
    train, val, test = splits
    t = Trainer.resume(tmp_path, train, val, test, changes={"epochs": 4}, progress=False)
    t.optimizer.lr = 1e12
    t.config.lr = 1e12
    with pytest.raises(DivergenceError, match="learning rate 1e\\+12"):
        t.run()
    kept, meta = final_arrays(tmp_path)
    assert meta["epoch"] == 2
    for key in good:
        np.testing.assert_array_equal(good[key], kept[key])


def test_divergence_without_a_run_folder_is_a_divergence_error():
    # out_dir=None (the scikit-learn estimators) has no checkpoint to name: was a TypeError
    X = np.random.default_rng(0).random((200, 3)) * 1e3
    cfg = TrainConfig(
        layers=[3, 8, 1],
        task="regress",
        output="identity",
        lr=1e30,
        preprocessing="none",
        target_scaling="none",
        stop_on="train",
        epochs=3,
    )
    t = Trainer(cfg, Split(X, X.sum(axis=1)), None, None, None, progress=False)
    with pytest.raises(DivergenceError, match="no checkpoint was saved before it"):
        t.run()


def test_checkpoint_is_plain_data(splits, tmp_path):
    trainer(small_config(epochs=1), splits, tmp_path).run()
    with np.load(tmp_path / "checkpoint.npz", allow_pickle=False) as data:
        assert all(data[k].dtype != object for k in data.files)
    assert (tmp_path / "history.json").is_file() and (tmp_path / "config.json").is_file()
    assert not list(tmp_path.glob("*.tmp"))


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="lr must be a positive number"):
        TrainConfig(lr=-1)
    # checked when made, each naming its setting (they used to be accepted and fail later)
    with pytest.raises(ValueError, match=r"dropout must be a number in \[0, 1\)"):
        TrainConfig(dropout=1.5)
    with pytest.raises(ValueError, match="momentum must be"):
        TrainConfig(momentum=7)
    with pytest.raises(ValueError, match="weight-decay must be a number >= 0"):
        TrainConfig(weight_decay=-1)
    with pytest.raises(ValueError, match="epochs must be a whole number"):
        TrainConfig(epochs=2.5)
    with pytest.raises(ValueError, match="activation must be one of"):
        TrainConfig(activation="softmax")  # output-only
    with pytest.raises(ValueError, match="unknown setting"):
        TrainConfig.from_dict({"learning_rate": 0.1})
    with pytest.raises(ValueError, match="stop-on"):
        TrainConfig(stop_on="everything")
    with pytest.raises(ValueError, match="lr-step"):
        TrainConfig(schedule="step", lr_step=0)
    with pytest.raises(ValueError, match="lr-gamma"):
        TrainConfig(lr_gamma=0)
    with pytest.raises(ValueError, match="min-delta"):
        TrainConfig(min_delta=float("nan"))
    with pytest.raises(ValueError, match="parameters"):
        TrainConfig(layers=[784, 3000000, 10])


def test_shift_images_moves_pixels_and_fills_background():
    from bpnn.augment import shift_images

    img = np.arange(1, 10, dtype=np.uint8).reshape(1, 9)  # 3x3: 1 2 3 / 4 5 6 / 7 8 9
    down_right = shift_images(img, np.array([[1, 1]]))
    np.testing.assert_array_equal(down_right.reshape(3, 3), [[0, 0, 0], [0, 1, 2], [0, 4, 5]])
    up_left = shift_images(np.repeat(img, 2, axis=0), np.array([[-1, -2], [0, 0]]))
    np.testing.assert_array_equal(up_left[0].reshape(3, 3), [[6, 0, 0], [9, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(up_left[1], img[0])
    with pytest.raises(ValueError, match="square"):
        shift_images(np.zeros((1, 8), np.uint8), np.zeros((1, 2), int))


def test_augmented_runs_resume_bit_identically_mid_epoch(monkeypatch, splits, tmp_path):
    monkeypatch.setattr(train_mod, "CHUNK", 64)
    cfg = small_config(epochs=3, augment=2)
    whole = trainer(cfg, splits, tmp_path / "whole")
    whole.run()
    plain = trainer(small_config(epochs=3), splits, tmp_path / "plain")
    plain.run()
    assert not np.array_equal(whole.net.params()[0], plain.net.params()[0])  # shifts did something
    interrupt_after(monkeypatch, 8)
    assert trainer(cfg, splits, tmp_path / "cut").run()["interrupted"]
    arrays, _ = final_arrays(tmp_path / "cut")
    assert (
        arrays["position.shifts"].shape == (300, 2) and np.abs(arrays["position.shifts"]).max() <= 2
    )
    interrupt_after(monkeypatch, 10**9)
    train, val, test = splits
    Trainer.resume(tmp_path / "cut", train, val, test, progress=False).run()
    a, _ = final_arrays(tmp_path / "whole")
    b, _ = final_arrays(tmp_path / "cut")
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_an_equal_error_is_no_worse(monkeypatch, splits, tmp_path):
    """The tutorial stops when accuracy falls: a tie keeps the later weights and resets patience."""
    scripted_errors(monkeypatch, [0.5, 0.3, 0.3, 0.3, 0.3] + [0.0] * 3)
    t = trainer(small_config(epochs=5, patience=2), splits, tmp_path)
    t.run()
    assert not t.history.stopped_early and t.history.best_epoch == 5
    scripted_errors(monkeypatch, [0.5, 0.3, 0.3, 0.3] + [0.0] * 3)
    t = trainer(small_config(epochs=10, patience=2, min_delta=0.01), splits, tmp_path / "strict")
    t.run()
    assert t.history.stopped_early and t.history.best_epoch == 2 and t.epoch == 4


def test_average_keeps_the_averaged_weights(monkeypatch, splits, tmp_path):
    """--average d: the weights early stopping judges and the run keeps are the average
    avg = d * avg + (1 - d) * w over the epochs' weights, the first epoch's as they are."""
    seen: list = []

    class Keep:
        def on_epoch_end(self, epoch, metrics):
            seen.append([p.copy() for p in t.net.params()])  # the run's own weights

    scripted_errors(monkeypatch, [0.5, 0.4, 0.3, 0, 0])  # each epoch improves (then the scores)
    train, val, test = splits
    cfg = small_config(epochs=3, average=0.5, optimizer="adam", lr=0.01)
    t = Trainer(cfg, train, val, test, None, progress=False, callbacks=[Keep()])
    t.run()
    avg = [p.copy() for p in seen[0]]
    for own in seen[1:]:
        avg = [0.5 * a + 0.5 * w for a, w in zip(avg, own)]
    assert not np.allclose(seen[-1][0], avg[0])  # (not simply the last epoch's weights)
    for kept, expected in zip(t.net.params(), avg):
        np.testing.assert_allclose(kept, expected, rtol=1e-6, atol=1e-7)
    assert t.state.average is not None and t.config.describe()[2].count("averaged (decay 0.5)")


def test_no_average_by_default(splits, tmp_path):
    t = trainer(small_config(epochs=1), splits, None)
    t.run()
    assert t.state.average is None
    assert "average" not in t.config.to_dict()  # (files as older versions read them)
    assert small_config(average=0.5).to_dict()["average"] == 0.5


def test_average_with_stop_on_loss_keeps_what_it_judged(splits):
    """--average with --stop-on loss: the epoch's training loss is the run's own weights', so
    the averaged weights are judged by their loss on the divergence rule's fixed sample, and
    the best value history reports is the kept weights' (it was the raw weights' loss)."""
    from bpnn.watch import untrained_loss

    train, val, test = splits
    cfg = small_config(epochs=4, average=0.5, optimizer="adam", lr=0.01, stop_on="loss")
    t = Trainer(cfg, train, val, test, None, progress=False)
    t.run()
    on, off = cfg.target_on, cfg.target_off
    kept = untrained_loss(t.net, t.preprocessing, t.targets, train, on, off)
    assert t.history.best_error == pytest.approx(kept, rel=1e-6)
    raw = [e["train_loss"] for e in t.history.epochs]
    assert t.history.best_error not in raw  # (not the epochs' running losses)


def test_selection_split_prepared_only_when_evaluated(monkeypatch, splits):
    """The prepared selection split (up to evaluation.CACHE_BYTES of inputs) is made on its
    first evaluation: none for a run that stops on the training loss, the training split's
    for one that stops on ``train``; never the validation split's for either."""
    import bpnn.evaluation as evaluation

    made: list = []
    real = evaluation.Selection

    def spy(net, prep, targets, X, *rest):
        made.append(X)
        return real(net, prep, targets, X, *rest)

    monkeypatch.setattr(evaluation, "Selection", spy)
    train, val, test = splits
    for stop_on, expected in (("loss", []), ("train", [train.X])):
        made.clear()
        t = Trainer(small_config(epochs=2, stop_on=stop_on), train, val, test, None, progress=False)
        t.run()
        assert [X is train.X for X in made] == [True] * len(expected)
        assert (t._selection is None) == (stop_on == "loss")
