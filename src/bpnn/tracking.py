"""Experiment tracking with the tools people run, as callbacks (``bpnn.callbacks``):

- ``TensorBoard(logdir)``: TensorBoard event files, one scalar per metric per epoch
  (``train_loss``, ``val_error``, ``test_error``, ``val_loss``, ``lr``); needs the ``tensorboard``
  package (``pip install 'bpnn[tensorboard]'``).
- ``MLflow(tracking_uri, experiment)``: an MLflow run with the settings as parameters, every
  epoch's metrics (step = epoch), the results as final metrics, and the model file, history and
  config (and the report, given with ``log_artifact``) as artifacts.  Where: ``tracking_uri``,
  else ``MLFLOW_TRACKING_URI``, else MLflow's own default (3.x: ``mlflow.db``, SQLite, with the
  artifacts in ``./mlruns/``; a plain ``./mlruns`` file store is refused by MLflow 3.x unless
  ``MLFLOW_ALLOW_FILE_STORE=true``).  ``parent_run_id`` makes it a child run (a sweep's trials
  under one parent: ``start_parent``).  Needs ``mlflow`` (``pip install 'bpnn[mlflow]'``).

Each imports its package when the run starts, and refuses in one line when it is missing.
Not here: the protocol (``bpnn.callbacks``), the loop that calls them (``bpnn.train``).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from .callbacks import Callback
from .errors import BpnnError

__all__ = ["SCALARS", "MLflow", "TensorBoard", "end_parent", "mlflow_client", "start_parent"]

SCALARS = ("train_loss", "val_error", "test_error", "val_loss", "lr")  # what each epoch logs


def _need(package: str, extra: str) -> Any:
    try:
        return __import__(package)
    except ImportError:
        raise BpnnError(
            f"{package} is not installed: pip install 'bpnn[{extra}]' (or pip install {package})"
        ) from None


class TensorBoard(Callback):
    """Writes the run's per-epoch scalars as TensorBoard event files into ``logdir``."""

    def __init__(self, logdir: str | os.PathLike):
        self.logdir = Path(logdir)
        self._writer: Any = None

    def on_run_start(self, run) -> None:
        _need("tensorboard", "tensorboard")
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        self.logdir.mkdir(parents=True, exist_ok=True)
        self._writer = EventFileWriter(str(self.logdir))

    def on_epoch_end(self, epoch: int, metrics: dict) -> None:
        from tensorboard.compat.proto import event_pb2, summary_pb2

        values = [
            summary_pb2.Summary.Value(tag=name, simple_value=float(metrics[name]))
            for name in SCALARS
            if metrics.get(name) is not None
        ]
        summary = summary_pb2.Summary(value=values)
        self._writer.add_event(event_pb2.Event(wall_time=time.time(), step=epoch, summary=summary))

    def on_run_end(self, results: dict) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def mlflow_client(tracking_uri: str | None = None) -> Any:
    """An ``MlflowClient`` for ``tracking_uri`` (None: MLflow's default, see the docstring)."""
    _need("mlflow", "mlflow")
    from mlflow.tracking import MlflowClient

    return _mlflow_call(MlflowClient, tracking_uri)


class MLflow(Callback):
    """Logs the run to MLflow (``tracking_uri``: None for MLflow's default; ``experiment``: its
    name, made when new).  ``run_id``: the MLflow run's id once the run has started."""

    def __init__(
        self,
        tracking_uri: str | None = None,
        experiment: str = "bpnn",
        run_name: str | None = None,
        parent_run_id: str | None = None,
    ):
        self.tracking_uri, self.experiment = tracking_uri, experiment
        self.run_name, self.parent_run_id = run_name, parent_run_id
        self.run_id: str | None = None
        self._client: Any = None

    def on_run_start(self, run) -> None:
        client = self._client = mlflow_client(self.tracking_uri)
        experiment = _mlflow_call(_experiment_id, client, self.experiment)
        tags = {"mlflow.runName": self.run_name or _name(run)}
        if self.parent_run_id:
            tags["mlflow.parentRunId"] = self.parent_run_id
        self.run_id = client.create_run(experiment, tags=tags).info.run_id
        from mlflow.entities import Param

        params = [Param(k, _text(v)) for k, v in run.config.to_dict().items()]
        params.append(Param("data", str(run.data.get("source"))))
        client.log_batch(self.run_id, params=params)

    def on_epoch_end(self, epoch: int, metrics: dict) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [
            Metric(name, float(metrics[name]), now, epoch)
            for name in SCALARS
            if metrics.get(name) is not None
        ]
        self._client.log_batch(self.run_id, metrics=batch)

    def on_run_end(self, results: dict) -> None:
        from mlflow.entities import Metric

        now, step = int(time.time() * 1000), int(results.get("epochs") or 0)
        final = [
            Metric(f"final_{k}", float(v), now, step)
            for k, v in results.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        ]
        self._client.log_batch(self.run_id, metrics=final)
        model = results.get("model")
        if model:
            folder = Path(model).parent
            for name in ("model.npz", "config.json", "history.json", "history.csv"):
                if (folder / name).exists():
                    self.log_artifact(folder / name)
        status = "KILLED" if results.get("interrupted") else "FINISHED"
        self._client.set_terminated(self.run_id, status)

    def log_artifact(self, path: str | os.PathLike) -> None:
        """Adds a file (or a folder: the report) to the run's artifacts."""
        path = Path(path)
        if path.is_dir():
            self._client.log_artifacts(self.run_id, str(path), path.name)
        else:
            self._client.log_artifact(self.run_id, str(path))


def start_parent(tracking_uri: str | None, experiment: str, name: str) -> str:
    """A parent MLflow run (a sweep) for child runs to name; returns its run id."""
    client = mlflow_client(tracking_uri)
    experiment_id = _mlflow_call(_experiment_id, client, experiment)
    run = client.create_run(experiment_id, tags={"mlflow.runName": name})
    return run.info.run_id


def end_parent(tracking_uri: str | None, run_id: str, artifacts: list) -> None:
    """Ends the parent run ``run_id`` (a sweep), with its result files as artifacts."""
    client = mlflow_client(tracking_uri)
    for path in artifacts:
        if Path(path).exists():
            client.log_artifact(run_id, str(path))
    client.set_terminated(run_id, "FINISHED")


def _mlflow_call(function, *args):
    """``function(*args)``; MLflow's refusal (a file store MLflow 3.x will not use, a tracking
    server out of reach) becomes one line."""
    from mlflow.exceptions import MlflowException

    try:
        return function(*args)
    except MlflowException as exc:
        raise BpnnError(f"mlflow: {str(exc.message).splitlines()[0]}") from None


def _experiment_id(client, name: str) -> str:
    found = client.get_experiment_by_name(name)
    return found.experiment_id if found is not None else client.create_experiment(name)


def _name(run) -> str:
    return Path(str(run.out_dir)).name if run.out_dir is not None else "bpnn"


def _text(value) -> str:
    """A parameter value as MLflow keeps it (text, at most 6000 characters)."""
    text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    return text[:6000]
