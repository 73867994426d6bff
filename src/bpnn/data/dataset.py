"""``Dataset``: a data set as ``bpnn.data.load_source`` loads it, whatever its format.

Not here: reading any format (``bpnn.data.sources`` and the readers it calls), splitting
(``bpnn.data.split``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Dataset"]


@dataclass
class Dataset:
    """A data set as loaded: rows are samples.

    X_train: (n, d) uint8 for images, float64 for CSV, as stored for .npz.
    y_train: (n,) labels (dtype kind 'i', 'u' or 'U') or values (float), or (n, k) float.
    X_test, y_test: the same for the test set, or None.
    class_names: names of the classes by label, for registered sets (e.g. "T-shirt/top").
    folder: where an IDX set was found (a registered set's folder may come from ``BPNN_DATA``).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray | None
    y_test: np.ndarray | None
    source: str
    kind: str  # "image" or "tabular"
    image_shape: tuple[int, int] | None
    feature_names: list[str] | None
    target_names: list[str] | None
    class_names: list[str] | None = field(default=None)
    folder: str | None = None  # an IDX set's folder, resolved: where the data was found
    schema: Any = None  # a table's ``bpnn.tables.TableSchema`` (raw columns -> X)
    notes: list[str] = field(default_factory=list)  # what reading did, for the log

    def arrays(self) -> list[np.ndarray]:
        """X_train, y_train, X_test, y_test, leaving out the absent ones, in that order."""
        return [a for a in (self.X_train, self.y_train, self.X_test, self.y_test) if a is not None]

    def checksum(self) -> str:
        """sha256 (hex) over the dtype, shape and bytes of each array of ``arrays()``."""
        h = hashlib.sha256()
        for a in self.arrays():
            h.update(f"{a.dtype.str}{a.shape};".encode())
            h.update(np.ascontiguousarray(a).data)
        return h.hexdigest()

    def describe(self) -> str:
        """One line, e.g.
        "mnist: 60000 training + 10000 test samples, 784 features (28x28 images)"; a source
        without a test part: "t.csv: 150 samples, ..." (the run splits them); a table: its
        inputs and the columns they come from ("30 inputs from 10 columns")."""
        counts = f"{len(self.X_train)}"
        if self.X_test is not None:
            counts += f" training + {len(self.X_test)} test"
        width = self.X_train.shape[1]
        if self.schema is not None:
            shape = f"{width} inputs from {len(self.schema.columns)} columns"
        else:
            shape = f"{width} features"
        line = f"{self.source}: {counts} samples, {shape}"
        if self.image_shape is not None:
            line += " ({}x{} images)".format(*self.image_shape)
        if self.target_names:
            line += f", target {', '.join(self.target_names)}"
        return line
