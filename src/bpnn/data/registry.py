"""The data sets bpnn downloads by name (``DATASETS``: mnist, fashion-mnist, kmnist): four files in
MNIST's layout each, their sizes and checksums (``MnistFile``), mirrors and class names.

``registered(name)`` is the entry of a name.  Not here: finding, verifying and downloading the
files (``bpnn.data.mnist``, ``bpnn.data.verify``, ``bpnn.data.download``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

__all__ = ["DATASETS", "ENV_VAR", "MIRRORS", "MNIST_FILES", "MnistFile", "Registered", "registered"]

ENV_VAR = "BPNN_DATA"
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)


@dataclass(frozen=True)
class MnistFile:
    """One official file: its decompressed size and md5, and the md5 of the mirrors' .gz.

    ``md5`` None: only the mirrors' .gz is known (a decompressed copy then never verifies).
    """

    size: int
    md5: str | None
    gz_md5: str


MNIST_FILES: dict[str, MnistFile] = {
    "train-images-idx3-ubyte.gz": MnistFile(
        16 + 60000 * 784, "6bbc9ace898e44ae57da46a324031adb", "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    ),
    "train-labels-idx1-ubyte.gz": MnistFile(
        8 + 60000, "a25bea736e30d166cdddb491f175f624", "d53e105ee54ea40749a09fcbcd1e9432"
    ),
    "t10k-images-idx3-ubyte.gz": MnistFile(
        16 + 10000 * 784, "2646ac647ad5339dbf082846283269ea", "9fb629c4189551a2d022fa330f9573f3"
    ),
    "t10k-labels-idx1-ubyte.gz": MnistFile(
        8 + 10000, "27ae3e4e09519cfbb04c329615203637", "ec29112dd5afa0611ce80d1b7f02629c"
    ),
}


@dataclass(frozen=True)
class Registered:
    """A data set bpnn downloads by name: four files in MNIST's layout, mirrors, class names."""

    name: str  # the registered name, also the cache folder's name
    title: str  # how messages call it
    files: Mapping[str, MnistFile]  # name (.gz) -> checksums, in MNIST's four-file layout
    mirrors: tuple[str, ...]
    classes: tuple[str, ...]  # class names, indexed by label
    env_var: str | None = None  # an environment variable naming its folder (MNIST only)

    @property
    def names(self) -> str:
        """Its files' names, comma-separated (for messages)."""
        return ", ".join(self.files)


def _idx_files(n_train: int, n_test: int, gz_md5s: tuple[str, str, str, str]) -> dict:
    """The four files of a 28x28 set, sizes from the header arithmetic, .gz md5s given."""
    sizes = (16 + n_train * 784, 8 + n_train, 16 + n_test * 784, 8 + n_test)
    return {name: MnistFile(size, None, gz) for name, size, gz in zip(MNIST_FILES, sizes, gz_md5s)}


# md5s and mirrors as torchvision lists them (torchvision/datasets/mnist.py, FashionMNIST and
# KMNIST); the second Fashion-MNIST mirror is the data folder of zalandoresearch/fashion-mnist.
DATASETS: dict[str, Registered] = {
    "mnist": Registered("mnist", "MNIST", MNIST_FILES, MIRRORS, tuple("0123456789"), ENV_VAR),
    "fashion-mnist": Registered(
        "fashion-mnist",
        "Fashion-MNIST",
        _idx_files(
            60000,
            10000,
            (
                "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "25c81989df183df01b3e8a0aad5dffbe",
                "bef4ecab320f06d8554ea6380940ec79",
                "bb300cfdad3c16e7a12a480ee83cd310",
            ),
        ),
        (
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ),
        (
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
    ),
    "kmnist": Registered(
        "kmnist",
        "KMNIST",
        _idx_files(
            60000,
            10000,
            (
                "bdb82020997e1d708af4cf47b453dcf7",
                "e144d726b3acfaa3e44228e80efcd344",
                "5c965bf0a639b31b8f53240b1b52f4d7",
                "7320c461ea6c1c855c0b718fb2a4b134",
            ),
        ),
        ("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
        ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
    ),
}


def registered(name: str) -> Registered:
    """The registry entry of ``name``; KeyError if unknown.

    MNIST's files and mirrors are read from ``MNIST_FILES`` and ``MIRRORS`` at each call, so that
    code (and tests) replacing those module attributes keeps working.
    """
    if name == "mnist":
        return replace(DATASETS["mnist"], files=MNIST_FILES, mirrors=tuple(MIRRORS))
    return DATASETS[name]
