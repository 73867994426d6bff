"""The run's state as a value: RunState through checkpoint.npz and back (every field), the file's
layout as bpnn has written it since version 2, early stopping's rules, the run folder's files, and
runstate knowing nothing of the Trainer."""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

import bpnn
from bpnn import TrainConfig
from bpnn.augment import random_shifts
from bpnn.data.split import Split
from bpnn.errors import FormatError
from bpnn.history import History
from bpnn.modelfile import load_arrays, save_arrays
from bpnn.preprocessing import resolve
from bpnn.runfolder import RunFolder
from bpnn.runstate import EpochPosition, RunState, read_checkpoint, read_state, write_checkpoint
from bpnn.stopping import EarlyStopping
from bpnn.targets import Targets
from bpnn.train import Trainer

PACKAGE = Path(bpnn.__file__).resolve().parent


def config(**changes) -> TrainConfig:
    base = dict(
        layers=[6, 5, 3], activation="tanh", loss="cross_entropy", optimizer="adam", lr=0.01
    )
    return TrainConfig(**{**base, **changes})


def parts(n=10):
    X = np.random.default_rng(0).random((n, 6))
    y = np.arange(n) % 3
    return resolve("standardize", X), Targets.fit(y, "classify"), X, y


def busy_state(cfg: TrainConfig) -> RunState:
    """A state with every field away from its starting value."""
    state = RunState.start(cfg)
    grads = [np.full_like(p, 0.1) for p in state.net.params()]
    for _ in range(3):  # Adam's moments and step count
        state.optimizer.step(state.net.params(), grads)
    state.optimizer.lr = 0.00731
    state.rng.random(5)
    state.history.add(epoch=1, train_loss=0.9, val_error=0.5, test_error=None, lr=0.01, seconds=1)
    state.history.add(epoch=2, train_loss=0.8, val_error=0.6, test_error=None, lr=0.01, seconds=1)
    state.history.best_error, state.history.best_epoch = 0.5, 1
    state.history.stepper, state.history.changes = "numpy", [{"from_epoch": 2, "patience": 4}]
    state.stopping = EarlyStopping(cfg.patience, cfg.min_delta, best=0.5, bad_evals=1)
    state.epoch, state.seconds = 2, 2.125
    state.best_params = [p * 2 for p in state.net.params()]
    state.average = [p * 3 for p in state.net.params()]
    order = state.rng.permutation(10)
    shifts = random_shifts(10, 2, state.rng)
    state.position = EpochPosition(order, shifts, done=4, loss=1.375, seconds=0.25)
    return state


def same_arrays(a, b) -> bool:
    return len(a) == len(b) and all(
        x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(a, b)
    )


def same_position(a: EpochPosition | None, b: EpochPosition | None) -> bool:
    if a is None or b is None:
        return a is b
    shifts = (a.shifts is None and b.shifts is None) or same_arrays([a.shifts], [b.shifts])
    return (
        shifts
        and same_arrays([a.order], [b.order])
        and (a.done, a.loss, a.seconds) == (b.done, b.loss, b.seconds)
    )


# How to compare each field of RunState: a field added without one here fails the round trip.
SAME = {
    "net": lambda a, b: a.config() == b.config() and same_arrays(a.params(), b.params()),
    "optimizer": lambda a, b: (
        a.hyper() == b.hyper()
        and a.state_dict().keys() == b.state_dict().keys()
        and same_arrays(list(a.state_dict().values()), list(b.state_dict().values()))
    ),
    "rng": lambda a, b: a.bit_generator.state == b.bit_generator.state,
    "history": lambda a, b: a == b,
    "stopping": lambda a, b: a == b,
    "epoch": lambda a, b: a == b,
    "position": same_position,
    "best_params": lambda a, b: (a is None and b is None) or same_arrays(a, b),
    "seconds": lambda a, b: a == b,
    "average": lambda a, b: (a is None and b is None) or same_arrays(a, b),
}


def assert_same_state(a: RunState, b: RunState) -> None:
    names = [f.name for f in dataclasses.fields(RunState)]
    assert sorted(names) == sorted(SAME), "a RunState field without a comparison here"
    for name in names:
        assert SAME[name](getattr(a, name), getattr(b, name)), name


@pytest.mark.parametrize("augment", [True, False])
def test_run_state_round_trips_through_a_checkpoint(tmp_path, augment):
    cfg = config(patience=3, min_delta=0.01)
    state = busy_state(cfg)
    if not augment:
        state.position = dataclasses.replace(state.position, shifts=None)
    prep, targets, _, _ = parts()
    path = tmp_path / "checkpoint.npz"
    write_checkpoint(path, state, config=cfg, preprocessing=prep, targets=targets, data={"a": 1})
    arrays, meta = read_checkpoint(path)
    assert_same_state(read_state(arrays, meta, path, cfg, n_train=10), state)
    assert ("position.shifts" in arrays) is augment


def test_a_state_between_epochs_round_trips(tmp_path):
    cfg = config(optimizer="momentum")
    state = RunState.start(cfg)  # nothing evaluated: no best weights, no position
    prep, targets, _, _ = parts()
    path = tmp_path / "checkpoint.npz"
    write_checkpoint(path, state, config=cfg, preprocessing=prep, targets=targets, data={})
    arrays, meta = read_checkpoint(path)
    assert meta["position"] is None and not any(k.startswith("best.") for k in arrays)
    assert_same_state(read_state(arrays, meta, path, cfg), state)


def version_2_checkpoint(path: Path) -> tuple[dict, dict]:
    """checkpoint.npz laid out by hand as bpnn has written it since version 2 (before RunState):
    (arrays, meta) in the order they were written."""
    cfg = config(optimizer="momentum", lr=0.1, epochs=5, patience=3)
    net = cfg.build_network(1)
    prep, targets, _, _ = parts()
    rng = np.random.default_rng(7)
    rng.random(3)
    history = {
        "epochs": [
            dict(epoch=1, train_loss=0.9, val_error=0.5, test_error=None, lr=0.1, seconds=0.1),
            dict(epoch=2, train_loss=0.8, val_error=0.6, test_error=None, lr=0.1, seconds=0.1),
        ],
        "best_epoch": 1,
        "best_error": 0.5,
        "stopped_early": False,
        "stop_reason": None,
        "metric": "error_rate",
        "stepper": "numpy",
        "fallback": None,
        "changes": [],
    }
    arrays = {"W0": net.params()[0], "b0": net.params()[1]}
    arrays.update({"W1": net.params()[2], "b1": net.params()[3], "opt.t": np.array(20)})
    arrays.update({f"opt.velocity.{i}": p / 10 for i, p in enumerate(net.params())})
    arrays.update({f"best.{i}": p + 1 for i, p in enumerate(net.params())})
    arrays["position.order"] = np.random.default_rng(1).permutation(10)
    meta = {
        "format": "bpnn-checkpoint",
        "version": 2,
        "config": cfg.to_dict(),
        "network": net.config(),
        "preprocessing": prep.to_dict(),
        "targets": targets.to_dict(),
        "epoch": 2,
        "position": {"done": 4, "loss": 1.5, "seconds": 0.25},
        "rng": rng.bit_generator.state,
        "history": history,
        "bad_evals": 1,
        "seconds": 0.2,
        "optimizer_lr": 0.1,
        "data": {"source": "somewhere.csv"},
    }
    save_arrays(path, arrays, meta)
    return arrays, meta


def test_a_version_2_checkpoint_loads_and_is_written_back_the_same(tmp_path):
    old = tmp_path / "old.npz"
    arrays, meta = version_2_checkpoint(old)
    cfg = TrainConfig.from_dict(meta["config"])
    state = read_state(*read_checkpoint(old), old, cfg, n_train=10)
    assert same_arrays(state.net.params(), [arrays[k] for k in ("W0", "b0", "W1", "b1")])
    assert state.optimizer.t == 20 and state.optimizer.lr == 0.1
    assert same_arrays(state.optimizer.velocity, [arrays[f"opt.velocity.{i}"] for i in range(4)])
    assert same_arrays(state.best_params, [arrays[f"best.{i}"] for i in range(4)])
    assert state.rng.bit_generator.state == meta["rng"]
    assert state.history == History.from_dict(meta["history"])
    assert state.stopping == EarlyStopping(3, 0.0, best=0.5, bad_evals=1)
    assert (state.epoch, state.seconds) == (2, 0.2)
    assert state.position is not None and state.position.shifts is None
    assert np.array_equal(state.position.order, arrays["position.order"])
    assert (state.position.done, state.position.loss, state.position.seconds) == (4, 1.5, 0.25)
    # written back: the same arrays under the same names, the same JSON in the same order
    new = tmp_path / "new.npz"
    prep, targets, _, _ = parts()
    write_checkpoint(new, state, config=cfg, preprocessing=prep, targets=targets, data=meta["data"])
    arrays2, meta2 = load_arrays(new)
    assert list(arrays2) == list(arrays)
    assert all(np.array_equal(arrays2[k], arrays[k]) for k in arrays)
    assert meta2 == meta and list(meta2) == list(meta)
    assert list(meta2["position"]) == list(meta["position"])


def test_a_checkpoint_of_other_data_or_a_broken_one_is_one_line(tmp_path):
    path = tmp_path / "old.npz"
    arrays, meta = version_2_checkpoint(path)
    cfg = TrainConfig.from_dict(meta["config"])
    with pytest.raises(FormatError, match="made with 10 training samples, the data now has 12"):
        read_state(arrays, meta, path, cfg, n_train=12)
    del arrays["position.order"]
    with pytest.raises(FormatError, match="broken checkpoint.*position.order"):
        read_state(arrays, meta, path, cfg)
    with pytest.raises(FormatError, match="broken checkpoint.*layers"):
        read_state(*read_checkpoint(path), path, config(layers=[6, 4, 3]))


def test_resumed_settings_shape_the_state(tmp_path):
    path = tmp_path / "old.npz"
    arrays, meta = version_2_checkpoint(path)
    meta["history"].update(stopped_early=True, stop_reason="no gain")
    meta["config"]["epochs"] = 2
    cfg = TrainConfig.from_dict({**meta["config"], "patience": 7, "min_delta": 0.5})
    state = read_state(arrays, meta, path, cfg)
    assert state.stopping == EarlyStopping(7, 0.5, best=0.5, bad_evals=1)
    assert state.history.stopped_early  # no more epochs: it stays stopped
    state = read_state(arrays, meta, path, dataclasses.replace(cfg, epochs=4))
    assert not state.history.stopped_early and state.history.stop_reason is None


def test_early_stopping_counts_evaluations_without_gain():
    stop = EarlyStopping(patience=2)
    assert stop.update(0.5) and stop.best == 0.5  # the first error is always the best so far
    assert not stop.update(0.6) and not stop.stop and stop.bad_evals == 1
    assert stop.update(0.4) and stop.bad_evals == 0  # an improvement starts patience again
    assert not stop.update(0.7) and not stop.update(0.41) and stop.stop and stop.best == 0.4


def test_with_min_delta_zero_an_equal_error_is_no_worse():
    stop = EarlyStopping(patience=1)
    stop.update(0.3)
    stop.update(0.35)
    assert stop.bad_evals == 1
    assert stop.update(0.3) and stop.bad_evals == 0 and not stop.stop  # the later weights win
    assert not stop.update(0.30000001) and stop.stop


def test_min_delta_asks_for_more_than_min_delta():
    stop = EarlyStopping(patience=5, min_delta=0.25)
    stop.update(0.75)
    assert not stop.update(0.75)  # a tie is no improvement with a min_delta
    assert not stop.update(0.5)  # exactly min_delta less: not more than it
    assert not stop.improves(0.5) and stop.improves(0.4999)
    assert stop.update(0.4999) and stop.best == 0.4999 and stop.bad_evals == 0


def scripted_errors(monkeypatch, errors):
    """Make the selection error follow ``errors``, one value per evaluation."""
    it = iter(errors)
    monkeypatch.setattr(Trainer, "error", lambda self, split: next(it))


def small_split(n=60):
    X = np.random.default_rng(1).random((n, 6))
    return Split(X, (X[:, 0] > 0.5).astype(int))


def test_early_stopping_state_goes_through_resume_with_a_new_patience(monkeypatch, tmp_path):
    train, val = small_split(), small_split(20)
    cfg = config(layers=[6, 4, 2], epochs=3, patience=10, eval_every=1)
    scripted_errors(monkeypatch, [0.5, 0.6, 0.7, 0.0])  # (the last one serves _finish)
    Trainer(cfg, train, val, None, tmp_path, progress=False).run()
    scripted_errors(monkeypatch, [0.8, 0.9, 0.0])
    t = Trainer.resume(tmp_path, train, val, None, changes={"epochs": 9, "patience": 3})
    assert t.state.stopping == EarlyStopping(3, 0.0, best=0.5, bad_evals=2)
    t.run()
    assert t.history.stopped_early and t.epoch == 4 and t.history.best_epoch == 1


def test_the_trainer_holds_its_state_in_one_value(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    t = Trainer(config(layers=[6, 4, 2], epochs=2), small_split(), small_split(20), None, None)
    t.run()
    st = t.state
    assert (t.epoch, t.history, t.net, t.optimizer) == (st.epoch, st.history, st.net, st.optimizer)
    assert t.epoch == 2 and t.out_dir is None
    with pytest.raises(AttributeError):
        t.epoch = 0  # type: ignore[misc]
    assert list(tmp_path.iterdir()) == []  # out_dir=None: no files at all


def test_run_folder_names_its_files_and_writes_them_atomically(tmp_path):
    folder = RunFolder(tmp_path / "run")
    assert [p.name for p in (folder.config, folder.history, folder.checkpoint, folder.model)] == [
        "config.json",
        "history.json",
        "checkpoint.npz",
        "model.npz",
    ]
    folder.write_history(History(best_error=0.25))
    assert History.from_dict(json.loads(folder.history.read_text())).best_error == 0.25
    assert sorted(p.name for p in folder.path.iterdir()) == ["history.csv", "history.json"]


@pytest.mark.parametrize("existed", [True, False])
def test_a_run_that_fails_before_its_first_checkpoint_leaves_nothing(tmp_path, existed):
    folder = RunFolder(tmp_path / "run")
    if existed:
        folder.path.mkdir()
        (folder.path / "notes.txt").write_text("mine")
    with pytest.raises(RuntimeError), folder.kept_once_checkpointed():
        folder.write_history(History())
        raise RuntimeError("diverged")
    kept = sorted(p.name for p in folder.path.iterdir()) if folder.path.exists() else None
    assert kept == (["notes.txt"] if existed else None)
    # once a checkpoint exists a failure removes nothing
    folder.write_history(History())
    folder.checkpoint.write_bytes(b"")
    with pytest.raises(RuntimeError), folder.kept_once_checkpointed():
        raise RuntimeError("diverged")
    assert folder.history.exists()


def imported_modules(name: str) -> set[str]:
    """The bpnn modules ``name`` imports (at any depth in its file, typing-only ones too)."""
    path = PACKAGE.joinpath(*name.split(".")[1:]).with_suffix(".py")
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = name.split(".")[: len(name.split(".")) - node.level] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found |= {module, *(f"{module}.{a.name}" for a in node.names)}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {m for m in found if m.startswith("bpnn.")}


def test_the_run_state_knows_nothing_of_the_trainer():
    """runstate, runfolder and stopping never reach bpnn.train, directly or through others."""
    for start in ("bpnn.runstate", "bpnn.runfolder", "bpnn.stopping"):
        seen, todo = set(), [start]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            if PACKAGE.joinpath(*name.split(".")[1:]).with_suffix(".py").is_file():
                todo += imported_modules(name)
        assert "bpnn.train" not in seen, start
        assert "bpnn.runstate" in imported_modules("bpnn.runfolder")  # (the walk does walk)
