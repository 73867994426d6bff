"""A run folder's files: ``RunFolder`` names them and writes each one atomically.

- ``config.json``: the settings, data description, preprocessing, targets and runtime;
- ``history.json``: the record of the epochs (``bpnn.history``);
- ``history.csv``: the same epochs as a table for spreadsheets (one row an epoch, empty cells
  where an epoch was not evaluated), written with ``history.json``;
- ``checkpoint.npz``: the run's state (``bpnn.runstate``), what ``--resume`` reads;
- ``model.npz``: the trained model (``bpnn.model``), written once at the end;
- ``.bpnn.lock``: locked (``bpnn.fileio.lock_folder``) while a process writes the run, so a
  second writer is refused.

Not here: what the files hold (those modules), when they are written (``bpnn.train``), the
report's files (``bpnn.report``).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .fileio import LOCK_NAME, atomic_write, lock_folder, unlock_folder
from .history import History
from .model import Model
from .preprocessing import Preprocessing
from .runstate import RunState, write_checkpoint
from .settings import TrainConfig
from .targets import Targets

__all__ = ["RunFolder"]


class RunFolder:
    """The files of the run in folder ``path`` (made when the first one is written)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    @property
    def config(self) -> Path:
        return self.path / "config.json"

    @property
    def history(self) -> Path:
        return self.path / "history.json"

    @property
    def history_csv(self) -> Path:
        return self.path / "history.csv"

    @property
    def checkpoint(self) -> Path:
        return self.path / "checkpoint.npz"

    @property
    def model(self) -> Path:
        return self.path / "model.npz"

    def lock(self) -> None:
        """Make this process the run's one writer (BpnnError when another one is)."""
        lock_folder(self.path, "run")

    def unlock(self, *, every: bool = False) -> None:
        unlock_folder(self.path, every=every)

    def discard_lock(self) -> None:
        """Remove the lock's file, and the folder if nothing else is in it (a run that never
        began, in a folder it made)."""
        (self.path / LOCK_NAME).unlink(missing_ok=True)
        if self.path.is_dir() and not any(self.path.iterdir()):
            self.path.rmdir()

    def _only_locked(self) -> bool:
        """Whether the folder is missing or holds nothing but the lock (made for this run)."""
        return not self.path.exists() or {p.name for p in self.path.iterdir()} <= {LOCK_NAME}

    def has_checkpoint(self) -> bool:
        return self.checkpoint.exists()

    def write_config(
        self,
        config: TrainConfig,
        preprocessing: Preprocessing,
        targets: Targets,
        data: dict,
        runtime: dict,
    ) -> None:
        """config.json: every setting, then the data, preprocessing, targets and runtime."""
        self._write_json(
            self.config,
            {
                **config.to_dict(),
                "data": data,
                "preprocessing": preprocessing.to_dict(),
                "targets": targets.to_dict(),
                "runtime": runtime,
            },
        )

    def write_history(self, history: History) -> None:
        """history.json, and its epochs as history.csv."""
        self._write_json(self.history, history.to_dict())
        text = history_csv(history.epochs).encode()
        atomic_write(self.history_csv, lambda f: f.write(text))

    def write_checkpoint(
        self,
        state: RunState,
        config: TrainConfig,
        preprocessing: Preprocessing,
        targets: Targets,
        data: dict,
    ) -> None:
        write_checkpoint(
            self.checkpoint,
            state,
            config=config,
            preprocessing=preprocessing,
            targets=targets,
            data=data,
        )

    def write_model(self, model: Model) -> Path:
        model.save(self.model)
        return self.model

    @staticmethod
    def _write_json(path: Path, data: dict) -> None:
        text = json.dumps(data, indent=1).encode()
        atomic_write(path, lambda f: f.write(text))

    @contextmanager
    def kept_once_checkpointed(self) -> Iterator[None]:
        """A block that, if it fails before the first checkpoint of a new run, leaves no
        half-made run folder behind: its json files go, and the folder if the block made it."""
        fresh, created = not self.has_checkpoint(), self._only_locked()
        try:
            yield
        except BaseException:
            if fresh and not self.has_checkpoint():
                for path in (self.config, self.history, self.history_csv):
                    path.unlink(missing_ok=True)
                if created:
                    self.discard_lock()
            raise


def history_csv(epochs: list[dict]) -> str:
    """The epoch records as CSV text: a header of every key (in first-seen order), one row each."""
    columns: dict[str, None] = {}
    for record in epochs:
        columns.update(dict.fromkeys(record))
    out = io.StringIO()
    writer = csv.DictWriter(out, list(columns), lineterminator="\n")
    writer.writeheader()
    for record in epochs:
        writer.writerow({k: "" if v is None else v for k, v in record.items()})
    return out.getvalue()
