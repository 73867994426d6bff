"""Data: any data set as a ``Dataset``; IDX files, MNIST and kin (find, verify, download, load),
targets and metrics.

- ``load_source``, ``Dataset``: a registered name, an IDX folder, a .csv or a .npz file, loaded.
- ``split_indices``: the seeded held-out split (a count or a fraction) the trainer uses;
  ``Split``: one part of the data (X, y, sample weights) as the trainer takes it.
- ``read_idx``, ``write_idx``: IDX files, plain or gzip, checked strictly.
- ``find_mnist``: the MNIST folder (``--data``, else ``$BPNN_DATA``, else the cache, downloading).
- ``find_dataset``, ``DATASETS``: the same for every registered set (mnist, fashion-mnist, kmnist).
- ``download_mnist``, ``download_dataset``, ``cache_dir``: the downloaders and the cache folder.
- ``load_mnist``: (images (n, 784) uint8, labels (n,) uint8) of "train" or "test".
- ``load_idx_folder``: (images (n, h*w) uint8, labels (n,) uint8, (h, w)) of any IDX folder.
- ``validation_split``: a seeded held-out part of the training set (``split_indices`` by count).
- ``mnist_targets``: the tutorial's 0.9/0.1 rows (squared error) or class indices (cross-entropy).
- ``error_rate``, ``confusion_matrix``, ``per_class_error``: wrong / total, and where.
"""

from .idx import read_idx, write_idx
from .metrics import confusion_matrix, error_rate, per_class_error
from .mnist import (
    DATASETS,
    MIRRORS,
    MNIST_FILES,
    cache_dir,
    download_dataset,
    download_mnist,
    find_dataset,
    find_mnist,
    load_idx_folder,
    load_mnist,
    mnist_targets,
    validation_split,
)
from .sources import Dataset, load_source
from .split import Split, split_indices

__all__ = [
    "DATASETS",
    "MIRRORS",
    "MNIST_FILES",
    "Dataset",
    "Split",
    "cache_dir",
    "confusion_matrix",
    "download_dataset",
    "download_mnist",
    "error_rate",
    "find_dataset",
    "find_mnist",
    "load_idx_folder",
    "load_mnist",
    "load_source",
    "mnist_targets",
    "per_class_error",
    "read_idx",
    "split_indices",
    "validation_split",
    "write_idx",
]
