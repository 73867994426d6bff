"""Tracking callbacks (``bpnn.tracking``), read back with each tool's own reader: TensorBoard's
EventAccumulator and MLflow's client."""

from __future__ import annotations

import json

import numpy as np
import pytest

import bpnn
from bpnn.tracking import MLflow, TensorBoard, start_parent
from conftest import run_cli
from test_any_data import blobs, write_csv


@pytest.fixture(scope="module")
def flowers():
    return blobs(200, np.random.default_rng(3))


def test_tensorboard_events_read_back(flowers, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    X, y = flowers
    model = bpnn.fit(X, y, hidden=[8], epochs=5, callbacks=[TensorBoard(tmp_path / "tb")])
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    assert {"train_loss", "val_error", "val_loss", "lr"} <= set(events.Tags()["scalars"])
    losses = events.Scalars("train_loss")
    assert [e.step for e in losses] == [1, 2, 3, 4, 5]
    want = [e["train_loss"] for e in model.history.epochs]
    np.testing.assert_allclose([e.value for e in losses], want, rtol=1e-6)  # (float32 on disk)


def test_mlflow_run_reads_back(flowers, tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # (quicker than creating a database)
    from bpnn.tracking import mlflow_client

    monkeypatch.chdir(tmp_path)
    X, y = flowers
    store = (tmp_path / "mlruns").as_uri()
    cb = MLflow(store, experiment="flowers")
    model = bpnn.fit(X, y, hidden=[8], epochs=4, out=tmp_path / "run", callbacks=[cb])
    client = mlflow_client(store)
    run = client.get_run(cb.run_id)
    assert run.info.status == "FINISHED"
    # 2 features x 16 bins: the tabular default ple
    assert run.data.params["epochs"] == "4" and run.data.params["layers"] == "32,8,3"
    history = client.get_metric_history(cb.run_id, "train_loss")
    assert [m.step for m in history] == [1, 2, 3, 4]
    np.testing.assert_allclose(
        [m.value for m in history], [e["train_loss"] for e in model.history.epochs]
    )
    assert run.data.metrics["final_epochs"] == 4
    names = {a.path for a in client.list_artifacts(cb.run_id)}
    assert {"model.npz", "history.csv", "history.json", "config.json"} <= names


def test_mlflow_child_runs_name_their_parent(flowers, tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    from bpnn.tracking import mlflow_client

    X, y = flowers
    store = (tmp_path / "mlruns").as_uri()
    parent = start_parent(store, "sweep", "my sweep")
    children = [MLflow(store, "sweep", parent_run_id=parent) for _ in range(2)]
    for seed, cb in enumerate(children):
        bpnn.fit(X, y, hidden=[4], epochs=2, seed=seed, callbacks=[cb])
    client = mlflow_client(store)
    for cb in children:
        assert client.get_run(cb.run_id).data.tags["mlflow.parentRunId"] == parent


def test_cli_tensorboard_and_mlflow(flowers, tmp_path, capsys, monkeypatch):
    pytest.importorskip("tensorboard")
    pytest.importorskip("mlflow")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from bpnn.tracking import mlflow_client

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    X, y = flowers
    data = write_csv(tmp_path / "f.csv", ["a", "b", "c"], [[a, b, c] for (a, b), c in zip(X, y)])
    code, out, err = run_cli(
        capsys,
        "train",
        "--data",
        data,
        "--hidden",
        "8",
        "--epochs",
        "3",
        "--out",
        "run",
        "--tensorboard",
        "tb",
        "--mlflow",
        "--no-report",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["epochs"] == 3
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    assert len(events.Scalars("val_loss")) == 3
    client = mlflow_client(None)  # MLflow's default, here in tmp_path: mlflow.db
    assert (tmp_path / "mlflow.db").exists()
    experiment = client.get_experiment_by_name("bpnn")
    (run,) = client.search_runs([experiment.experiment_id])
    assert (
        run.data.params["layers"] == "32,8,3" and run.info.status == "FINISHED"
    )  # ple: 2 x 16 inputs


def test_sweep_trials_log_as_child_runs(flowers, tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    from bpnn.sweep.trial import run_trial
    from bpnn.tracking import mlflow_client

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    X, y = flowers
    data = write_csv(tmp_path / "f.csv", ["a", "b", "c"], [[a, b, c] for (a, b), c in zip(X, y)])
    store = (tmp_path / "mlruns").as_uri()
    parent = start_parent(store, "sweep", "a sweep")
    tracking = {"uri": store, "experiment": "sweep", "parent": parent}
    for name, lr in (("t1", 0.01), ("t2", 0.001)):
        settings = {"hidden": [4], "epochs": 2, "lr": lr}
        record = run_trial(
            {"name": name, "settings": settings, "params": {"lr": lr}},
            {"source": str(data), "mlflow": tracking},
            tmp_path / "sweep" / name,
        )
        assert record["status"] == "done", record
    client = mlflow_client(store)
    experiment = client.get_experiment_by_name("sweep")
    runs = client.search_runs([experiment.experiment_id])
    children = {r.data.tags.get("mlflow.runName") for r in runs if r.info.run_id != parent}
    assert children == {"t1", "t2"}
    assert all(r.data.tags["mlflow.parentRunId"] == parent for r in runs if r.info.run_id != parent)
