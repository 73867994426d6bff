"""Data: IDX files, MNIST (find, verify, download, load), targets and metrics.

- ``read_idx``, ``write_idx``: IDX files, plain or gzip, checked strictly.
- ``find_mnist``: the MNIST folder (``--data``, else ``$BPNN_DATA``, else the cache, downloading).
- ``download_mnist``, ``cache_dir``: the downloader and the cache folder.
- ``load_mnist``: (images (n, 784) uint8, labels (n,) uint8) of "train" or "test".
- ``validation_split``: a seeded held-out part of the training set.
- ``mnist_targets``: the tutorial's 0.9/0.1 rows (squared error) or class indices (cross-entropy).
- ``error_rate``, ``confusion_matrix``, ``per_class_error``: wrong / total, and where.
"""
from .idx import read_idx, write_idx
from .metrics import confusion_matrix, error_rate, per_class_error
from .mnist import (MIRRORS, MNIST_FILES, cache_dir, download_mnist, find_mnist, load_mnist,
                    mnist_targets, validation_split)

__all__ = [
    "MIRRORS", "MNIST_FILES", "cache_dir", "confusion_matrix", "download_mnist", "error_rate",
    "find_mnist", "load_mnist", "mnist_targets", "per_class_error", "read_idx",
    "validation_split", "write_idx",
]
