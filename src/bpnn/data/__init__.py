"""Data: any data set as a ``Dataset``; IDX files, MNIST and kin (find, verify, download, load),
targets and metrics.

- ``load_source``, ``Dataset``: a registered name, an IDX folder, a table (.csv, .parquet) or a
  .npz file, loaded.
- ``split_indices``: the seeded held-out split (a count or a fraction) the trainer uses;
  ``Split``: one part of the data (X, y, sample weights) as the trainer takes it.
- ``read_idx``, ``write_idx``: IDX files, plain or gzip, checked strictly.
- ``find_mnist``: the MNIST folder (``--data``, else ``$BPNN_DATA``, else the cache, downloading).
- ``find_dataset``, ``DATASETS``: the same for every registered set (mnist, fashion-mnist, kmnist).
- ``download_mnist``, ``download_dataset``, ``cache_dir``: the downloaders and the cache folder.
- ``load_mnist``: (images (n, 784) uint8, labels (n,) uint8) of "train" or "test".
- ``load_idx_folder``: (images (n, h*w) uint8, labels (n,) uint8, (h, w)) of any IDX folder.
- ``read_rows``: the feature rows (.npy or CSV) a model predicts for.
- ``error_rate``, ``confusion_matrix``, ``per_class_error``: wrong / total, and where.

Modules by job: ``sources`` (the entry point) with ``dataset``, ``npzdata`` (tables:
``bpnn.tables``); ``rows``; ``registry`` (the registered sets), ``mnist`` (finding them),
``verify``, ``download``, ``folder`` (IDX folders), ``idx``, ``gzstream``; ``split``, ``metrics``.
"""

from .download import download_dataset, download_mnist
from .folder import load_idx_folder, load_mnist
from .idx import read_idx, write_idx
from .metrics import confusion_matrix, error_rate, per_class_error
from .mnist import cache_dir, find_dataset, find_mnist
from .registry import DATASETS, MIRRORS, MNIST_FILES
from .rows import read_rows
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
    "per_class_error",
    "read_idx",
    "read_rows",
    "split_indices",
    "write_idx",
]
