"""Issue 20, items 1-5: no run lost or mixed.

--resume of runs trained with --test (and sweep trials of them); one writer per run folder (an OS
lock that dies with its process); a run records where its data was found; export writes
atomically and killed writers' temporary files are cleaned; damaged checkpoints are refused in
one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import bpnn
from bpnn.errors import BpnnError
from bpnn.modelfile import load_arrays, save_arrays
from conftest import run_cli
from helpers_model import tiny_model
from test_any_data import blobs, write_csv

SRC = str(Path(bpnn.__file__).resolve().parents[1])


@pytest.fixture
def flowers(tmp_path):
    """data/train.csv and data/test.csv: three separated clusters with text labels."""
    folder = tmp_path / "data"
    folder.mkdir()
    for name, n, seed in (("train.csv", 150, 1), ("test.csv", 60, 2)):
        X, y = blobs(n, np.random.default_rng(seed))
        rows = [[f"{a:.4f}", f"{b:.4f}", c] for (a, b), c in zip(X, y)]
        write_csv(folder / name, ["length", "width", "species"], rows)
    return folder


def train(capsys, *argv):
    return run_cli(capsys, "train", "--no-report", "--hidden", "4", *argv)


# ---- item 1: --resume of a run trained with --test --------------------------------------------


def test_resume_of_a_run_with_a_relative_test_set_from_another_folder(
    flowers, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(flowers)
    args = ("--data", "train.csv", "--test", "test.csv", "--out", tmp_path / "run")
    code, _, err = train(capsys, *args, "--epochs", 1)
    assert code == 0, err
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, "train", "--resume", tmp_path / "run", "--epochs", 2, "--json")
    assert code == 0, err
    data = json.loads((tmp_path / "run" / "config.json").read_text())["data"]
    assert data["source"] == str(flowers / "train.csv") and data["test"] == str(
        flowers / "test.csv"
    )
    assert bpnn.load(tmp_path / "run" / "model.npz").info.data.test == str(flowers / "test.csv")


def test_a_sweep_trial_with_a_test_set_killed_and_rerun_is_resumed(flowers, tmp_path):
    from bpnn import runs
    from bpnn.sweep.trial import read_record, run_trial, write_record

    folder = tmp_path / "sweep" / "trials" / "trial-000"
    data = {"source": str(flowers / "train.csv"), "target": None, "test": str(flowers / "test.csv")}
    settings = {"seed": 0, "epochs": 2, "hidden": [4]}
    trial = {"name": "trial-000", "settings": settings, "params": {}}
    # the trial's first epoch, then a kill: a checkpoint and a record still "running"
    runs.train(data, {**settings, "epochs": 1}, out=folder, report=False)
    write_record(folder, {**trial, "status": "running", "starts": []})
    record = run_trial(trial, data, folder)
    assert record["status"] == "done", record.get("error")
    assert read_record(folder)["results"]["epochs"] == 1  # (the run it resumed had 1 epoch)


def test_a_run_recorded_by_an_older_bpnn_as_source_plus_test_resumes(flowers, tmp_path, capsys):
    from bpnn.runs import located

    info = {"source": f"{flowers / 'train.csv'} + {flowers / 'test.csv'}", "test": "x"}
    assert located(info) == str(flowers / "train.csv")


# ---- item 2: one writer per run folder ---------------------------------------------------------


@pytest.fixture
def holder(tmp_path):
    """A process holding the lock of tmp_path/run (as a running bpnn train would)."""
    folder = tmp_path / "run"
    code = (
        "import sys, time; from bpnn.fileio import lock_folder; "
        f"lock_folder({str(folder)!r}); print('held', flush=True); time.sleep(120)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": SRC},
    )
    try:
        assert proc.stdout.readline().strip() == "held"
        yield folder, proc
    finally:
        proc.kill()
        proc.wait(timeout=30)


def test_a_second_writer_is_refused_and_a_killed_one_frees_the_folder(
    holder, flowers, tmp_path, capsys
):
    folder, proc = holder
    args = ("--data", flowers / "train.csv", "--out", folder, "--epochs", 1)
    code, _, err = train(capsys, *args)
    assert code == 2 and "in use" in err and f"pid {proc.pid}" in err and len(err.splitlines()) == 1
    assert not (folder / "model.npz").exists()
    X, y = blobs(60, np.random.default_rng(0))
    with pytest.raises(BpnnError, match="in use"):
        bpnn.fit(X, y, out=folder, epochs=1, hidden=[4])
    os.kill(proc.pid, signal.SIGKILL)  # a killed run leaves nothing locked
    proc.wait(timeout=30)
    code, _, err = train(capsys, *args)
    assert code == 0, err


def test_report_and_sweep_are_refused_while_another_process_writes(
    holder, flowers, tmp_path, capsys
):
    folder, _ = holder
    (folder / "model.npz").write_bytes(b"")
    code, _, err = run_cli(capsys, "report", folder)
    assert code == 2 and "in use" in err
    spec = tmp_path / "spec.toml"
    spec.write_text("[base]\nepochs = 1\n[search]\nlr = [0.1, 0.2]\n")
    code, _, err = run_cli(capsys, "sweep", spec, "--data", flowers / "train.csv", "--out", folder)
    assert code == 2 and "in use" in err
    assert not (folder / "sweep.json").exists()


def test_the_lock_counts_holds_in_one_process(tmp_path):
    from bpnn.fileio import lock_folder, unlock_folder

    lock_folder(tmp_path)
    lock_folder(tmp_path)
    unlock_folder(tmp_path)
    code = f"from bpnn.fileio import lock_folder; lock_folder({str(tmp_path)!r})"
    env = {**os.environ, "PYTHONPATH": SRC}
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert other.returncode == 1 and "in use" in other.stderr  # still held once
    unlock_folder(tmp_path)
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert other.returncode == 0, other.stderr


def test_a_failed_start_leaves_no_folder_behind(tmp_path, capsys):
    bad = write_csv(tmp_path / "one.csv", ["a", "y"], [[1, 0]])
    code, _, err = train(capsys, "--data", bad, "--out", tmp_path / "run", "--epochs", 1)
    assert code == 2
    assert not (tmp_path / "run").exists()


# ---- item 3: where the data was found ----------------------------------------------------------


def test_a_run_records_where_its_data_was_found_and_evaluates_without_it(
    tiny_mnist_dir, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("BPNN_DATA", str(tiny_mnist_dir))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # nothing there: no download
    code, _, err = run_cli(
        capsys, "train", "--data", "mnist", "--out", tmp_path / "run", "--epochs", 1, "--limit",
        200, "--hidden", 8,
    )  # fmt: skip
    assert code == 0, err
    info = bpnn.load(tmp_path / "run" / "model.npz").info.data
    assert info.source == "mnist" and info.found == str(tiny_mnist_dir.resolve())
    figures = sorted(p.name for p in (tmp_path / "run" / "report").glob("*.png"))
    assert "confusion_matrix.png" in figures
    monkeypatch.delenv("BPNN_DATA")
    code, out, err = run_cli(capsys, "evaluate", tmp_path / "run" / "model.npz")
    assert code == 0, err
    code, _, err = run_cli(capsys, "report", tmp_path / "run")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "run" / "report").glob("*.png")) == figures


# ---- item 4: atomic export, stale temporary files ---------------------------------------------


def test_export_on_a_full_disk_keeps_the_old_file(tmp_path, capsys, monkeypatch):
    pytest.importorskip("onnx")
    import bpnn.export as export

    tiny_model(tmp_path / "m.npz")
    onnx_file = tmp_path / "m.onnx"
    assert run_cli(capsys, "export", tmp_path / "m.npz", "--out", onnx_file)[0] == 0
    before = onnx_file.read_bytes()

    class Full:
        def SerializeToString(self):  # a proto whose bytes never arrive: the disk is full
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(export, "to_onnx", lambda *a, **k: Full())
    code, _, err = run_cli(capsys, "export", tmp_path / "m.npz", "--out", onnx_file)
    assert code == 2 and "No space left" in err
    assert onnx_file.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_killed_writers_temporary_files_are_cleaned_at_the_next_start(flowers, tmp_path, capsys):
    from bpnn.fileio import LOCK_NAME, clean_temps

    run = tmp_path / "run"
    run.mkdir()
    stale = [run / ".checkpoint.npz.abcd1234.tmp", run / ".model.npz.x_y9z0ab.tmp"]
    kept = [run / "notes.tmp", run / ".checkpoint.npz.tmp", run / "mine.txt"]
    for path in stale + kept:
        path.write_bytes(b"x" * 100)
    code, _, err = train(capsys, "--data", flowers / "train.csv", "--out", run, "--epochs", 1)
    assert code == 0, err
    assert not any(p.exists() for p in stale) and all(p.exists() for p in kept)
    assert clean_temps(tmp_path / "missing") == []
    assert (run / LOCK_NAME).exists()  # (the lock's file stays; it is free)


# ---- item 5: damaged checkpoints ---------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A run folder whose checkpoint was saved part-way through epoch 2 (with best weights)."""
    from bpnn import runs

    folder = tmp_path_factory.mktemp("ckpt")
    X, y = blobs(200, np.random.default_rng(4))
    data = runs.RunData.from_arrays(X, y)
    config = runs.configure(data, {"epochs": 2, "hidden": [4], "batch_size": 10})
    trainer = runs.start(data, config, folder / "run")
    trainer.run()
    arrays, meta = load_arrays(folder / "run" / "checkpoint.npz")
    meta["epoch"] = 1
    meta["position"] = {"done": 40, "loss": 1.0, "seconds": 0.1}
    arrays["position.order"] = np.random.default_rng(0).permutation(len(trainer.train))
    return folder / "run", arrays, meta, data


def _damage(checkpoint, tmp_path, change) -> tuple[Path, object]:
    folder, arrays, meta, data = checkpoint
    arrays, meta = dict(arrays), json.loads(json.dumps(meta))
    change(arrays, meta)
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    save_arrays(run / "checkpoint.npz", arrays, meta)
    return run, data


def _set(key, value):
    def change(arrays, meta):
        meta[key] = value

    return change


def _position(key, value):
    def change(arrays, meta):
        meta["position"][key] = value

    return change


def _nan_best(arrays, meta):
    best = sorted(k for k in arrays if k.startswith("best."))
    assert best
    arrays[best[0]] = np.full_like(arrays[best[0]], np.nan)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_nan_best, "best weights hold NaN"),
        (_set("epoch", -5), "epoch = -5 is out of range"),
        (_set("epoch", "3"), "epoch must be a whole number"),
        (_set("epoch", 10**12), "out of range"),
        (_position("done", 10**12), "position.done"),
        (_position("done", -50), "position.done = -50"),
        (_position("done", "40"), "position.done must be a whole number"),
        (_position("loss", "x"), "position.loss must be a finite number"),
        (_set("seconds", "fast"), "seconds must be a finite number"),
        (_set("optimizer_lr", float("nan")), "optimizer_lr must be a finite number"),
        (_set("bad_evals", 1.5), "bad_evals must be a whole number"),
        (_set("history", []), "history: no list of epochs"),
        (_set("history", {"epochs": [{"epoch": "one"}]}), "epoch must be a whole number"),
        (_set("rng", "seed"), "rng must be an object"),
        (_set("position", [1]), "position must be an object"),
    ],
)
def test_a_damaged_checkpoint_is_refused_in_one_line(checkpoint, tmp_path, change, message):
    from bpnn import runs

    run, data = _damage(checkpoint, tmp_path, change)
    with pytest.raises(BpnnError, match="broken checkpoint") as err:
        runs.resume(run, runs.RunData(data.X, data.y, info=dict(data.info)))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_the_undamaged_checkpoint_resumes(checkpoint, tmp_path):
    from bpnn import runs

    run, data = _damage(checkpoint, tmp_path, lambda arrays, meta: None)
    runs.resume(run, runs.RunData(data.X, data.y, info=dict(data.info))).run()


def test_an_order_that_is_not_a_permutation_is_refused(checkpoint, tmp_path):
    from bpnn import runs

    def change(arrays, meta):
        arrays["position.order"] = np.zeros_like(arrays["position.order"])

    run, data = _damage(checkpoint, tmp_path, change)
    with pytest.raises(BpnnError, match="not an order of the samples"):
        runs.resume(run, runs.RunData(data.X, data.y, info=dict(data.info)))
