"""``.npz`` data sets (``numpy.savez``), read without pickle by the rules ``bpnn.data.sources``
states: ``load_npz``.  Every problem is one ``FormatError`` line naming the file and the array.

Not here: choosing the format of a source (``bpnn.data.sources``).
"""

from __future__ import annotations

import pickle
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import FormatError
from ..limits import MAX_NPZ_BYTES
from ..modelfile import read_member
from .csvread import beyond_float32, regular_file
from .dataset import Dataset

__all__ = ["load_npz"]

_NPZ_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError)


def load_npz(path: Path) -> Dataset:
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
    """Every array of the archive, loaded without pickle, each member checked before it is
    inflated (``bpnn.modelfile.read_member``: a zip bomb or a lying shape costs nothing)."""
    regular_file(path, MAX_NPZ_BYTES)
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as f:
            single = f.read(6) == b"\x93NUMPY"
        raise FormatError(
            f"{path}: holds a single array, not a .npz archive of named arrays "
            f"(save X_train and y_train with numpy.savez)"
            if single
            else f"{path}: not a .npz archive of plain arrays (not a zip file)"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            return {
                info.filename.removesuffix(".npy"): _npz_array(path, archive, info)
                for info in archive.infolist()
            }
    except FormatError:
        raise
    except _NPZ_ERRORS as exc:
        raise FormatError(
            f"{path}: not a .npz archive of plain arrays ({_first_line(exc)})"
        ) from None


def _npz_array(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    key = info.filename.removesuffix(".npy")
    try:
        return read_member(archive, info, path, kinds="biufU")
    except FormatError as exc:
        if "dtype object" in str(exc):  # object arrays: bpnn never unpickles
            raise FormatError(
                f"{path}: array {key} holds Python objects (pickled); bpnn reads "
                f"only plain numeric or string arrays"
            ) from None
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
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
    """FormatError naming the first value that is NaN, infinite or beyond float32's range."""
    problem = beyond_float32(a, f"{path}: {key}")
    if problem:
        raise FormatError(problem)
