"""One way to get any numeric data set into bpnn: ``load_source(SOURCE)`` -> ``Dataset``.

SOURCE is one of:

- a registered name (``mnist``, ``fashion-mnist``, ``kmnist``): found, verified and downloaded as
  ``bpnn.data.mnist.find_dataset`` does (``mnist`` honours ``BPNN_DATA``).  Names win over paths:
  write ``./mnist`` for a folder called mnist.
- a folder in MNIST's layout (``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
  and optionally the two ``t10k-`` files): images uint8 (n, h, w) of any size, flattened row-major
  to (n, h*w); labels uint8 of any values.
- a ``.csv`` file with a header row, or a ``.parquet`` file: a table (``bpnn.tables``).  The
  target is the column named by ``target`` (default: the last); the other columns are typed,
  filled and encoded into float64 inputs by the table's schema (``bpnn.tables.schema``: fitted on
  this file, or the ``schema`` given).  Target: all integers -> int64 labels, any non-numeric
  value -> string labels, else float64 values (so write classes as ``3``, not ``3.0``); rows
  whose target is missing are left out.  Blank lines are skipped; a UTF-8 BOM is accepted.
- a ``.npz`` file (``numpy.savez``) with ``X_train``, ``y_train`` and optionally ``X_test``,
  ``y_test``: plain arrays only (no pickles).  X numeric (n, d), or (n, h, w) images flattened;
  y (n,) labels (int, unsigned or str) or values (float), or (n, k) float.  X must be finite.

Files are read only when regular (a FIFO or ``/dev/zero`` named ``x.csv`` is refused at once) and
within ``bpnn.limits`` (``MAX_CSV_BYTES``, ``MAX_NPZ_BYTES``); values float32 cannot hold (1e300),
where networks compute, are refused by line (CSV) or row and column.

``test=`` names a second source of the same format whose samples become the test set.  Nothing is
rescaled or reordered here: arrays come back as stored (images uint8, CSV float64).  Also here:
``split_indices`` (from ``bpnn.data.split``), the seeded split the trainer uses.

Here: choosing the format, test sets, IDX folders and registered names.  The readers of the other
formats: ``bpnn.tables`` and ``bpnn.data.npzdata``; ``Dataset``: ``bpnn.data.dataset``.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from ..errors import BpnnError, FormatError
from ..tables.load import table_dataset
from ..tables.read import MISSING
from ..tables.schema import TableSchema
from ..tables.types import TableOptions
from .dataset import Dataset
from .folder import load_idx_folder, split_files
from .mnist import find_dataset
from .npzdata import load_npz
from .registry import DATASETS, registered
from .split import split_indices

__all__ = ["MISSING", "TABLES", "Dataset", "load_source", "split_indices"]

TABLES = (".csv", ".parquet")  # the suffixes of table files


# ----------------------------------------------------------------------------- entry point


def load_source(
    source: str | os.PathLike,
    *,
    target: str | None = None,
    test: str | os.PathLike | None = None,
    options: TableOptions | None = None,
    schema: TableSchema | None = None,
) -> Dataset:
    """The data set SOURCE names (see the module docstring), with ``test`` as its test set.

    ``target`` picks the table's target column (tables only); ``options``: the typing rule's
    overrides (``bpnn.tables.types.TableOptions``); ``schema``: a fitted one to apply instead.
    ``test`` must be of the same format and feature width (a table: the same columns, by name),
    and SOURCE must not have a test set of its own.  Raises ``BpnnError`` (``FormatError`` for
    bad files) in one line.
    """
    name = os.fspath(source)
    if name in DATASETS:
        _refuse(target, "target=", name, "it applies to CSV files only")
        _refuse(test, "test=", name, "it has its own test set")
        return _load_registered(name)
    paths = [_existing(name)] + ([] if test is None else [_existing(os.fspath(test))])
    formats = [_format(path) for path in paths]
    if len(set(formats)) > 1:
        raise BpnnError(
            f"{paths[1]} (the test set) is {formats[1]} but {paths[0]} is "
            f"{formats[0]}: both must be of one format"
        )
    tables = [f"a {suffix} file" for suffix in TABLES]
    if formats[0] in tables:  # read together, so that one target type fits both
        return table_dataset(paths, target, options, schema)
    if target is not None:
        raise BpnnError(f"{paths[0]}: target= names a CSV column, but this is {formats[0]}")
    idx = formats[0] == "an IDX folder"
    main = _load_idx(paths[0]) if idx else load_npz(paths[0])
    if len(paths) == 1:
        return main
    return _with_test(main, _load_idx_test(paths[1]) if idx else load_npz(paths[1]))


def _refuse(value, option: str, name: str, why: str) -> None:
    if value is not None:
        raise BpnnError(f"{option} cannot be used with the registered data set {name}: {why}")


def _what_source_may_be() -> str:
    return (
        f"SOURCE is a folder of IDX files (train-images-idx3-ubyte[.gz], "
        f"train-labels-idx1-ubyte[.gz], optionally t10k-...), a .csv file with a header row "
        f"or a .parquet file, "
        f"a .npz file with X_train and y_train (optionally X_test, y_test), or one of the "
        f"names {', '.join(DATASETS)}"
    )


DATA_SUFFIXES = (".csv", ".parquet", ".npz", ".gz")  # a name that is plainly a file's


def _existing(name: str) -> Path:
    """The path ``name``; BpnnError when nothing is there (a plain file name: "no such file";
    anything else may have meant a registered set or a folder, so what SOURCE may be)."""
    path = Path(name)
    if not path.exists():
        if path.suffix.lower() in DATA_SUFFIXES:
            raise BpnnError(f"{name}: no such file")
        raise BpnnError(
            f"{name}: no such file, folder or registered data set: {_what_source_may_be()}"
        )
    return path


def _format(path: Path) -> str:
    """ "an IDX folder", "a .csv file", "a .parquet file" or "a .npz file"; BpnnError for
    anything else."""
    suffix = path.suffix.lower()
    if path.is_dir():
        return "an IDX folder"
    if suffix in (*TABLES, ".npz"):
        return f"a {suffix} file"
    extra = (
        " (a .npy file holds one array: save X_train and y_train with numpy.savez)"
        if suffix == ".npy"
        else ""
    )
    raise BpnnError(f"{path}: not a data source{extra}: {_what_source_may_be()}")


def _with_test(main: Dataset, other: Dataset) -> Dataset:
    """``main`` with ``other``'s training samples as its test set, after checking that they fit."""
    where = f"{other.source} (the test set)"
    if main.X_test is not None:
        raise BpnnError(
            f"{main.source} has its own test set: give test= only with a source that has none"
        )
    if other.X_test is not None:
        raise BpnnError(f"{where} has a test set of its own: give a source holding one set")
    if main.X_train.shape[1] != other.X_train.shape[1] or main.image_shape != other.image_shape:
        raise BpnnError(
            f"{where} has {_width(other)} features but {main.source} has "
            f"{_width(main)}: the test set must have the training set's features"
        )
    if main.y_train.shape[1:] != other.y_train.shape[1:]:
        raise BpnnError(
            f"{where} has targets of shape {other.y_train.shape} but {main.source} "
            f"has {main.y_train.shape}"
        )
    return replace(
        main, X_test=other.X_train, y_test=other.y_train, source=f"{main.source} + {other.source}"
    )


def _width(data: Dataset) -> str:
    shape = " ({}x{} images)".format(*data.image_shape) if data.image_shape else ""
    return f"{data.X_train.shape[1]}{shape}"


# ----------------------------------------------------------------------------- IDX


def _load_registered(name: str) -> Dataset:
    """A registered set: its folder found (downloading if needed), both splits loaded."""
    data = _load_idx(find_dataset(name))
    return replace(data, source=name, class_names=list(registered(name).classes))


def _load_idx_test(folder: Path) -> Dataset:
    """A folder named by test=: its t10k-* files when it holds only those, else as ``_load_idx``."""
    if any(split_files(folder, "train")) or not any(split_files(folder, "test")):
        return _load_idx(folder)
    X, y, shape = load_idx_folder(folder, "test")
    return Dataset(X, y, None, None, str(folder.resolve()), "image", shape, None, None)


def _load_idx(folder: Path) -> Dataset:
    """An IDX folder: train-* required; t10k-* optional (both or neither)."""
    X, y, shape = load_idx_folder(folder, "train")
    X_test = y_test = None
    if any(split_files(folder, "test")):
        X_test, y_test, test_shape = load_idx_folder(folder, "test")
        if test_shape != shape:
            raise FormatError(
                f"{folder}: test images are {test_shape[0]}x{test_shape[1]} but "
                f"training images are {shape[0]}x{shape[1]}"
            )
    where = str(folder.resolve())
    return Dataset(X, y, X_test, y_test, where, "image", shape, None, None, folder=where)
