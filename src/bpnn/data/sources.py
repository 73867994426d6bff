"""One way to get any numeric data set into bpnn: ``load_source(SOURCE)`` -> ``Dataset``.

SOURCE is one of:

- a registered name (``mnist``, ``fashion-mnist``, ``kmnist``): found, verified and downloaded as
  ``bpnn.data.mnist.find_dataset`` does (``mnist`` honours ``BPNN_DATA``).  Names win over paths:
  write ``./mnist`` for a folder called mnist.
- a folder in MNIST's layout (``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
  and optionally the two ``t10k-`` files): images uint8 (n, h, w) of any size, flattened row-major
  to (n, h*w); labels uint8 of any values.
- a ``.csv`` file with a header row.  The target is the column named by ``target`` (default: the
  last); every other column is a float64 feature.  Target: all integers -> int64 labels, any
  non-numeric value -> string labels, else float64 values (so write classes as ``3``, not ``3.0``).
  Missing values are refused, never imputed: an empty field, or (any case) ``NA``, ``N/A``,
  ``NaN``, ``null``, ``None``; so are ``inf`` features.  Blank lines are skipped; a UTF-8 BOM is
  accepted.
- a ``.npz`` file (``numpy.savez``) with ``X_train``, ``y_train`` and optionally ``X_test``,
  ``y_test``: plain arrays only (no pickles).  X numeric (n, d), or (n, h, w) images flattened;
  y (n,) labels (int, unsigned or str) or values (float), or (n, k) float.  X must be finite.

``test=`` names a second source of the same format whose samples become the test set.  Nothing is
rescaled or reordered here: arrays come back as stored (images uint8, CSV float64).  Also here:
``split_indices`` (from ``bpnn.data.split``), the seeded split the trainer uses.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import pickle
import re
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..errors import BpnnError, FormatError
from . import mnist
from .split import split_indices

__all__ = ["MISSING_VALUES", "Dataset", "load_source", "split_indices"]

MISSING_VALUES = frozenset({"", "na", "n/a", "nan", "null", "none"})  # compared lower-cased
_INTEGER = re.compile(r"[+-]?\d+")


@dataclass
class Dataset:
    """A data set as loaded: rows are samples.

    X_train: (n, d) uint8 for images, float64 for CSV, as stored for .npz.
    y_train: (n,) labels (dtype kind 'i', 'u' or 'U') or values (float), or (n, k) float.
    X_test, y_test: the same for the test set, or None.
    class_names: names of the classes by label, for registered sets (e.g. "T-shirt/top").
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
        "mnist: 60000 training + 10000 test samples, 784 features (28x28 images)"."""
        counts = f"{len(self.X_train)} training"
        if self.X_test is not None:
            counts += f" + {len(self.X_test)} test"
        line = f"{self.source}: {counts} samples, {self.X_train.shape[1]} features"
        if self.image_shape is not None:
            line += " ({}x{} images)".format(*self.image_shape)
        if self.target_names:
            line += f", target {', '.join(self.target_names)}"
        return line


# ----------------------------------------------------------------------------- entry point


def load_source(
    source: str | os.PathLike, *, target: str | None = None, test: str | os.PathLike | None = None
) -> Dataset:
    """The data set SOURCE names (see the module docstring), with ``test`` as its test set.

    ``target`` picks the CSV target column (CSV only).  ``test`` must be of the same format and
    feature width (CSV: the same feature columns in the same order), and SOURCE must not have a
    test set of its own.  Raises ``BpnnError`` (``FormatError`` for bad files) in one line.
    """
    name = os.fspath(source)
    if name in mnist.DATASETS:
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
    if formats[0] == "a .csv file":  # read together, so that one target type fits both
        return _csv_dataset([_read_csv(path, target) for path in paths])
    if target is not None:
        raise BpnnError(f"{paths[0]}: target= names a CSV column, but this is {formats[0]}")
    idx = formats[0] == "an IDX folder"
    main = _load_idx(paths[0]) if idx else _load_npz(paths[0])
    if len(paths) == 1:
        return main
    return _with_test(main, _load_idx_test(paths[1]) if idx else _load_npz(paths[1]))


def _refuse(value, option: str, name: str, why: str) -> None:
    if value is not None:
        raise BpnnError(f"{option} cannot be used with the registered data set {name}: {why}")


def _what_source_may_be() -> str:
    return (
        f"SOURCE is a folder of IDX files (train-images-idx3-ubyte[.gz], "
        f"train-labels-idx1-ubyte[.gz], optionally t10k-...), a .csv file with a header row, "
        f"a .npz file with X_train and y_train (optionally X_test, y_test), or one of the "
        f"names {', '.join(mnist.DATASETS)}"
    )


def _existing(name: str) -> Path:
    path = Path(name)
    if not path.exists():
        raise BpnnError(
            f"{name}: no such file, folder or registered data set: {_what_source_may_be()}"
        )
    return path


def _format(path: Path) -> str:
    """ "an IDX folder", "a .csv file" or "a .npz file"; BpnnError for anything else."""
    suffix = path.suffix.lower()
    if path.is_dir():
        return "an IDX folder"
    if suffix in (".csv", ".npz"):
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
    data = _load_idx(mnist.find_dataset(name))
    return replace(data, source=name, class_names=list(mnist.registered(name).classes))


def _load_idx_test(folder: Path) -> Dataset:
    """A folder named by test=: its t10k-* files when it holds only those, else as ``_load_idx``."""
    if any(mnist.split_files(folder, "train")) or not any(mnist.split_files(folder, "test")):
        return _load_idx(folder)
    X, y, shape = mnist.load_idx_folder(folder, "test")
    return Dataset(X, y, None, None, str(folder.resolve()), "image", shape, None, None)


def _load_idx(folder: Path) -> Dataset:
    """An IDX folder: train-* required; t10k-* optional (both or neither)."""
    X, y, shape = mnist.load_idx_folder(folder, "train")
    X_test = y_test = None
    if any(mnist.split_files(folder, "test")):
        X_test, y_test, test_shape = mnist.load_idx_folder(folder, "test")
        if test_shape != shape:
            raise FormatError(
                f"{folder}: test images are {test_shape[0]}x{test_shape[1]} but "
                f"training images are {shape[0]}x{shape[1]}"
            )
    return Dataset(X, y, X_test, y_test, str(folder.resolve()), "image", shape, None, None)


# ----------------------------------------------------------------------------- CSV


@dataclass
class _Csv:
    """One CSV file as read: float64 features, and the target's raw text with its line numbers."""

    path: Path
    features: np.ndarray  # (n, d) float64
    feature_names: list[str]
    target_name: str
    target_text: list[str]  # (n,) stripped fields
    target_lines: list[int]  # line number of each sample


def _csv_dataset(parts: list[_Csv]) -> Dataset:
    """Training (and test) sets from one (or two) read CSV files; one target type for all."""
    first = parts[0]
    for other in parts[1:]:
        if other.feature_names != first.feature_names or other.target_name != first.target_name:
            raise BpnnError(
                f"{other.path} (the test set) has columns {_columns(other)} but "
                f"{first.path} has {_columns(first)}: they must match, in order"
            )
    ys = np.split(_target_array(parts), np.cumsum([len(p.target_text) for p in parts])[:-1])
    X_test, y_test = (parts[1].features, ys[1]) if len(parts) > 1 else (None, None)
    source = " + ".join(str(p.path.resolve()) for p in parts)
    return Dataset(
        first.features,
        ys[0],
        X_test,
        y_test,
        source,
        "tabular",
        None,
        list(first.feature_names),
        [first.target_name],
    )


def _columns(part: _Csv) -> str:
    return f"{', '.join(part.feature_names)} (target {part.target_name})"


def _read_csv(path: Path, target: str | None) -> _Csv:
    """One CSV file, strictly: a header, rectangular rows, numeric features, no missing values."""
    reader = csv.reader(io.StringIO(_decode(path), newline=""))
    header = [name.strip() for name in next((r for r in reader if any(f.strip() for f in r)), [])]
    if not header:
        raise FormatError(f"{path}: empty file: expected a header row naming the columns")
    t = _target_column(path, header, target)
    rows, lines = [], []
    for row in reader:
        if not any(f.strip() for f in row):
            continue  # blank line
        if len(row) != len(header):
            raise FormatError(
                f"{path}, line {reader.line_num}: {len(row)} fields, but the header "
                f"has {len(header)} columns"
            )
        rows.append(row)
        lines.append(reader.line_num)
    if not rows:
        raise FormatError(f"{path}: no data rows after the header")
    names = header[:t] + header[t + 1 :]
    text = [[f for j, f in enumerate(row) if j != t] for row in rows]
    features = _parse_features(path, text, names, lines)
    return _Csv(path, features, names, header[t], [row[t].strip() for row in rows], lines)


def _decode(path: Path) -> str:
    """The file's text (UTF-8, BOM dropped); FormatError naming the line of a bad byte."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FormatError(
            f"{path}, line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); "
            f"save the file as UTF-8"
        ) from None


def _target_column(path: Path, header: list[str], target: str | None) -> int:
    """Index of the target column (default: the last); at least one feature must remain."""
    if "" in header:
        raise FormatError(f"{path}: column {header.index('') + 1} of the header has no name")
    if len(set(header)) != len(header):
        twice = sorted({n for n in header if header.count(n) > 1})
        raise FormatError(f"{path}: the header names column(s) {', '.join(twice)} more than once")
    if len(header) < 2:
        raise FormatError(
            f"{path}: the header has {len(header)} column: a CSV data set needs at "
            f"least one feature column and a target column"
        )
    if target is None:
        return len(header) - 1
    if target not in header:
        raise BpnnError(
            f"{path}: no column named {target!r} for the target (columns: {', '.join(header)})"
        )
    return header.index(target)


def _is_missing(text: str) -> bool:
    return text.strip().lower() in MISSING_VALUES


def _parse_features(
    path: Path, text: list[list[str]], names: list[str], lines: list[int]
) -> np.ndarray:
    """(n, d) float64 from the feature fields; the first bad field named by line and column."""
    try:  # fast path: NumPy parses the whole table; a failure or a NaN/inf means look closer
        X = np.array(text, dtype=np.float64)
        if np.isfinite(X).all():
            return X
    except ValueError:
        pass
    for row, line in zip(text, lines):
        for value, name in zip(row, names):
            _check_feature(path, line, name, value)
    raise AssertionError("NumPy refused a table whose every field parses")  # a bug, not the user


def _check_feature(path: Path, line: int, name: str, value: str) -> None:
    where = f"{path}, line {line}, column {name!r}"
    if _is_missing(value):
        raise FormatError(
            f"{where}: missing value ({value!r}); bpnn does not fill in values: "
            f"remove or complete the row"
        )
    try:
        number = float(value)
    except ValueError:
        raise FormatError(
            f"{where}: {value!r} is not a number (features must be numeric; name "
            f"a text column as the target with target=)"
        ) from None
    if not math.isfinite(number):
        raise FormatError(f"{where}: {value!r} is not a finite number")


def _target_array(parts: list[_Csv]) -> np.ndarray:
    """(n,) int64 labels if every target is an integer, float64 if every one is a number, else
    str labels; missing values refused (over all parts, so train and test get one type)."""
    text = [v for p in parts for v in p.target_text]
    for part in parts:
        for value, line in zip(part.target_text, part.target_lines):
            if _is_missing(value):
                raise FormatError(
                    f"{part.path}, line {line}, column {part.target_name!r}: missing "
                    f"target ({value!r}); bpnn does not fill in values: remove or "
                    f"complete the row"
                )
    if all(_INTEGER.fullmatch(v) for v in text):
        try:
            return np.array([int(v) for v in text], dtype=np.int64)
        except OverflowError:
            pass  # beyond int64: treat as real values
    try:
        y = np.array([float(v) for v in text], dtype=np.float64)
    except ValueError:
        return np.array(text, dtype=str)
    if not np.isfinite(y).all():
        bad = int(np.flatnonzero(~np.isfinite(y))[0])
        raise FormatError(f"{_locate_sample(parts, bad)}: target {text[bad]!r} is not finite")
    return y


def _locate_sample(parts: list[_Csv], i: int) -> str:
    """ "PATH, line N, column 'T'" of sample ``i`` counted over all parts."""
    for part in parts:
        if i < len(part.target_lines):
            return f"{part.path}, line {part.target_lines[i]}, column {part.target_name!r}"
        i -= len(part.target_lines)
    raise IndexError(i)


# ----------------------------------------------------------------------------- .npz


_NPZ_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError)


def _load_npz(path: Path) -> Dataset:
    """X_train, y_train (and X_test, y_test) from a .npz file, checked; 3-D X -> image."""
    arrays = _read_npz(path)
    if "X_train" not in arrays or "y_train" not in arrays:
        raise FormatError(
            f"{path}: a .npz data set needs arrays X_train and y_train (it holds "
            f"{', '.join(sorted(arrays)) or 'none'})"
        )
    if ("X_test" in arrays) != ("y_test" in arrays):
        raise FormatError(f"{path}: X_test and y_test come together (it holds only one)")
    X, shape = _npz_features(path, arrays, "X_train")
    y = _npz_target(path, arrays, "y_train", len(X))
    X_test = y_test = None
    if "X_test" in arrays:
        X_test, test_shape = _npz_features(path, arrays, "X_test")
        y_test = _npz_target(path, arrays, "y_test", len(X_test))
        fits = X_test.shape[1:] == X.shape[1:] and test_shape == shape
        if not fits or y_test.shape[1:] != y.shape[1:]:
            raise FormatError(
                f"{path}: X_test {arrays['X_test'].shape} / y_test {y_test.shape} "
                f"do not fit X_train {arrays['X_train'].shape} / y_train {y.shape}"
            )
    kind = "tabular" if shape is None else "image"
    return Dataset(X, y, X_test, y_test, str(path.resolve()), kind, shape, None, None)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of the archive, loaded without pickle; one line for anything else."""
    try:
        archive = np.load(path, allow_pickle=False)
    except _NPZ_ERRORS as exc:
        raise FormatError(
            f"{path}: not a .npz archive of plain arrays ({_first_line(exc)})"
        ) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise FormatError(
            f"{path}: holds a single array, not a .npz archive of named arrays "
            f"(save X_train and y_train with numpy.savez)"
        )
    with archive:
        return {key: _npz_array(path, archive, key) for key in archive.files}


def _npz_array(path: Path, archive, key: str) -> np.ndarray:
    try:
        return archive[key]
    except ValueError as exc:
        if "pickle" in str(exc):  # object arrays: bpnn never unpickles
            raise FormatError(
                f"{path}: array {key} holds Python objects (pickled); bpnn reads "
                f"only plain numeric or string arrays"
            ) from None
        raise FormatError(f"{path}: array {key} is corrupt ({_first_line(exc)})") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise FormatError(f"{path}: array {key} is corrupt ({_first_line(exc)})") from None


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _npz_features(path: Path, arrays: dict, key: str) -> tuple[np.ndarray, tuple[int, int] | None]:
    """(X (n, d) as stored, (h, w) or None) from a 2-D or 3-D numeric, finite array."""
    X = arrays[key]
    if X.dtype.kind not in "iuf" or X.ndim not in (2, 3):
        raise FormatError(
            f"{path}: {key} must be a numeric array (n, d) or (n, h, w), found {X.shape} {X.dtype}"
        )
    _check_finite(path, key, X)
    shape = tuple(X.shape[1:]) if X.ndim == 3 else None
    return X.reshape(len(X), -1), shape


def _npz_target(path: Path, arrays: dict, key: str, n: int) -> np.ndarray:
    """y (n,) labels or values, or (n, k) float values, of length n."""
    y = arrays[key]
    labels_or_values = y.ndim == 1 and y.dtype.kind in "iuUf"
    if not (labels_or_values or (y.ndim == 2 and y.dtype.kind == "f")):
        raise FormatError(
            f"{path}: {key} must be (n,) labels (int or str) or values (float), or "
            f"(n, k) float, found {y.shape} {y.dtype}"
        )
    if len(y) != n:
        raise FormatError(
            f"{path}: {key} holds {len(y)} samples but {key.replace('y_', 'X_')} holds {n}"
        )
    _check_finite(path, key, y)
    return y


def _check_finite(path: Path, key: str, a: np.ndarray) -> None:
    if a.dtype.kind == "f":
        bad = int(a.size - np.count_nonzero(np.isfinite(a)))
        if bad:
            raise FormatError(f"{path}: {key} holds {bad} NaN or infinite value(s)")
