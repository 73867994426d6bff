"""Folders of IDX files in MNIST's layout (``train-images-idx3-ubyte[.gz]``,
``train-labels-idx1-ubyte[.gz]``, and the two ``t10k-`` files): where each split's files are
(``split_files``), whether a pair fits (``check_pair``) and reading them: ``load_mnist`` (28x28
digits, uint8 (n, 784)) and ``load_idx_folder`` (any image size and labels).

Images stay uint8 (row-major) in memory; scale batches as they are used.  Not here: the IDX
format itself (``bpnn.data.idx``), finding a data set's folder (``bpnn.data.mnist``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import BpnnError, FormatError
from .idx import read_idx

__all__ = [
    "IMAGE_SHAPE",
    "SPLITS",
    "check_pair",
    "load_idx_folder",
    "load_mnist",
    "locate",
    "split_files",
]

IMAGE_SHAPE = (28, 28)
SPLITS = {"train": "train", "test": "t10k"}  # split -> file name prefix


def locate(folder: Path, name: str) -> Path | None:
    """``name`` (.gz) in folder, or its decompressed twin; None if neither exists."""
    for path in (folder / name, folder / name.removesuffix(".gz")):
        if path.is_file():
            return path
    return None


def check_pair(
    images: Path,
    image_header,
    labels: Path,
    label_header,
    image_shape: tuple[int, int] | None = IMAGE_SHAPE,
) -> None:
    """Images (n, h, w) uint8 and labels (n,) uint8, from (dtype, shape) headers.

    ``image_shape`` (h, w) is required when given (MNIST's 28x28); None accepts any size.
    """
    (idt, ishape), (ldt, lshape) = image_header, label_header
    wrong_size = image_shape is not None and tuple(ishape[1:]) != image_shape
    if idt != np.uint8 or len(ishape) != 3 or wrong_size:
        want = "n, h, w" if image_shape is None else "n, {}, {}".format(*image_shape)
        raise FormatError(
            f"{images}: expected images of shape ({want}) uint8, found {tuple(ishape)} {idt}"
        )
    if ldt != np.uint8 or len(lshape) != 1:
        raise FormatError(
            f"{labels}: expected labels of shape (n,) uint8, found {tuple(lshape)} {ldt}"
        )
    if ishape[0] != lshape[0]:
        raise FormatError(
            f"{labels}: holds {lshape[0]} labels but {images.name} holds {ishape[0]} images"
        )


def split_files(folder: str | os.PathLike, split: str) -> tuple[Path | None, Path | None]:
    """(images, labels) paths of "train" or "test" in ``folder`` (.gz or not), None if absent."""
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return tuple(
        locate(Path(folder), f"{SPLITS[split]}-{kind}")  # type: ignore[return-value]
        for kind in ("images-idx3-ubyte.gz", "labels-idx1-ubyte.gz")
    )


def _load_split(
    folder: str | os.PathLike, split: str, image_shape: tuple[int, int] | None
) -> tuple[np.ndarray, np.ndarray]:
    """(images (n, h, w) uint8, labels (n,) uint8) of ``split``, checked as ``_check_pair`` does."""
    found = split_files(folder, split)
    paths = []
    for path, kind in zip(found, ("images-idx3-ubyte.gz", "labels-idx1-ubyte.gz")):
        if path is None:
            name = f"{SPLITS[split]}-{kind}"
            raise BpnnError(f"{Path(folder) / name}: no such file (nor {name.removesuffix('.gz')})")
        paths.append(path)
    images, labels = (read_idx(path) for path in paths)
    check_pair(
        paths[0], (images.dtype, images.shape), paths[1], (labels.dtype, labels.shape), image_shape
    )
    return images, labels


def load_idx_folder(
    folder: str | os.PathLike, split: str = "train"
) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """(images (n, h*w) uint8, labels (n,) uint8, (h, w)) of a folder in MNIST's layout.

    Any image size and any label values; images flattened row-major.
    """
    images, labels = _load_split(folder, split, None)
    return images.reshape(len(images), -1), labels, tuple(images.shape[1:])


def load_mnist(folder: str | os.PathLike, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """(images (n, 784) uint8, labels (n,) uint8) of the "train" or "test" split in ``folder``.

    Images are 28x28 rows flattened (row-major), grey levels 0..255; labels are 0..9.
    """
    images, labels = _load_split(folder, split, IMAGE_SHAPE)
    if labels.size and labels.max() > 9:
        raise FormatError(
            f"{split_files(folder, split)[1]}: labels must be digits 0..9, found {labels.max()}"
        )
    return images.reshape(len(images), -1), labels
