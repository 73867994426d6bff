"""MNIST and its kin: find the four files, verify them, download them when missing, read them.

Where bpnn looks (``find_mnist``): the folder named by the caller (the CLI's ``--data``), else the
``BPNN_DATA`` environment variable, else a per-user cache folder (``$XDG_CACHE_HOME/bpnn/mnist``,
by default ``~/.cache/bpnn/mnist``).  ``DATASETS`` registers the data sets of MNIST's layout that
bpnn can download by name (mnist, fashion-mnist, kmnist): ``find_dataset(name)`` does for each what
``find_mnist`` does for MNIST (only MNIST honours ``BPNN_DATA``), caching in ``.../bpnn/<name>``.

- A folder named explicitly may hold any IDX data set of MNIST's shape (Fashion-MNIST, say): its
  files are checked for structure, and checksums that differ from the official MNIST only give a
  notice.
- The cache is verified strictly: md5 of the decompressed bytes, or of the .gz as the mirrors
  serve it.  Missing or corrupt files are downloaded from the public mirrors (the next mirror on
  failure), verified, and written atomically; offline, one error says which files to put where.

Images stay uint8 ``(n, 784)`` in memory (row-major 28x28); scale batches to [0, 1] as they are
used.  ``load_idx_folder`` reads a folder of this layout whatever its image size and labels.
Also here: the seeded validation split and the tutorial's training targets.  Not here: the
IDX format itself (``bpnn.data.idx``) and error metrics (``bpnn.data.metrics``).
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from http.client import HTTPException
from pathlib import Path

import numpy as np

from ..errors import BpnnError, FormatError
from ..fileio import atomic_write
from ..losses import get_loss
from .gzstream import GZIP_MAGIC, GzipError, GzipInflater
from .idx import read_idx, read_idx_header
from .split import split_indices

__all__ = [
    "DATASETS",
    "ENV_VAR",
    "MIRRORS",
    "MNIST_FILES",
    "MnistFile",
    "Registered",
    "cache_dir",
    "download_dataset",
    "download_mnist",
    "find_dataset",
    "find_mnist",
    "load_idx_folder",
    "load_mnist",
    "mnist_targets",
    "registered",
    "split_files",
    "validation_split",
    "verify_file",
]

ENV_VAR = "BPNN_DATA"
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
IMAGE_SHAPE = (28, 28)
SPLITS = {"train": "train", "test": "t10k"}  # split -> file name prefix
_CHUNK = 1 << 20


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


Notice = Callable[[str], None]


def _stderr_notice(message: str) -> None:
    print(f"bpnn: notice: {message}", file=sys.stderr)


# ----------------------------------------------------------------------------- finding


def cache_dir(environ: Mapping[str, str] | None = None, name: str = "mnist") -> Path:
    """The per-user cache of data set ``name``: ``$XDG_CACHE_HOME/bpnn/<name>``, else
    ``~/.cache/bpnn/<name>``."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bpnn" / name


def find_mnist(
    data_dir: str | os.PathLike | None = None,
    *,
    download: bool = True,
    progress: bool | None = None,
    notice: Notice | None = None,
) -> Path:
    """The folder holding the four MNIST files, checked; downloads into the cache when needed.

    ``data_dir`` (the CLI's ``--data``) wins, then ``$BPNN_DATA``, then ``cache_dir()``.
    ``progress``: None shows a download bar only on a terminal, False never, True always.
    ``notice(message)`` receives non-fatal remarks (default: a line on stderr).
    Raises ``BpnnError`` (``FormatError`` for bad files) with one message saying what to do.
    """
    return find_dataset("mnist", data_dir, download=download, progress=progress, notice=notice)


def find_dataset(
    name: str,
    data_dir: str | os.PathLike | None = None,
    *,
    download: bool = True,
    progress: bool | None = None,
    notice: Notice | None = None,
) -> Path:
    """The folder holding the four files of registered data set ``name`` (see ``find_mnist``).

    ``data_dir`` wins, then the set's environment variable (MNIST: ``$BPNN_DATA``), then
    ``cache_dir(name=name)``, downloading into it when needed.  KeyError for an unknown name.
    """
    spec = registered(name)
    notice = notice or _stderr_notice
    if data_dir is not None and str(data_dir) != "":
        return _check_folder(Path(data_dir), "--data", notice, spec)
    if spec.env_var and os.environ.get(spec.env_var):
        return _check_folder(Path(os.environ[spec.env_var]), spec.env_var, notice, spec)
    return _cached(cache_dir(os.environ, name), download, progress, notice, spec)


def _locate(folder: Path, name: str) -> Path | None:
    """``name`` (.gz) in folder, or its decompressed twin; None if neither exists."""
    for path in (folder / name, folder / name.removesuffix(".gz")):
        if path.is_file():
            return path
    return None


def _check_folder(folder: Path, source: str, notice: Notice, data: Registered) -> Path:
    """An explicitly named folder: four files of MNIST's structure; other checksums: a notice."""
    if not folder.is_dir():
        raise BpnnError(
            f"{folder} (named with {source}) is not a folder: it should hold the four "
            f"{data.title} files {_names(data)}"
        )
    located = {name: _locate(folder, name) for name in data.files}
    paths = {name: path for name, path in located.items() if path is not None}
    missing = [name for name in located if name not in paths]
    if missing:
        raise BpnnError(
            f"{folder} (named with {source}) lacks {', '.join(missing)}: it should "
            f"hold the four {data.title} files {_names(data)} (gzip or not)"
        )
    for prefix in SPLITS.values():
        images, labels = (
            paths[f"{prefix}-{kind}.gz"] for kind in ("images-idx3-ubyte", "labels-idx1-ubyte")
        )
        _check_pair(images, read_idx_header(images), labels, read_idx_header(labels))
    different = [name for name, path in paths.items() if not verify_file(path, data.files[name])]
    if different:
        notice(
            f"{folder}: {', '.join(different)} differ from the official {data.title} "
            f"(checksums); using them as they are"
        )
    return folder


def _cached(
    folder: Path, download: bool, progress: bool | None, notice: Notice, data: Registered
) -> Path:
    """The cache folder, every file verified strictly; missing or corrupt ones downloaded."""
    todo = {}
    for name, spec in data.files.items():
        path = folder / name
        if not path.is_file():
            todo[name] = spec
        elif not verify_file(path, spec):
            if not download:
                raise FormatError(
                    f"{path}: checksum differs from the official {data.title} file: "
                    f"delete it and bpnn will download it again"
                )
            notice(
                f"{path}: checksum differs from the official {data.title} file; downloading "
                f"it again"
            )
            todo[name] = spec
    if todo and not download:
        raise BpnnError(
            f"{data.title} is not in {folder} (missing {', '.join(todo)}) and "
            f"downloading is off: {_where_to_put(folder, data)}"
        )
    if todo:
        download_dataset(data.name, folder, files=todo, progress=progress)
    return folder


def _names(data: Registered) -> str:
    return ", ".join(data.files)


def _where_to_put(folder: Path, data: Registered) -> str:
    where = (
        f"any folder named with --data DIR or the {data.env_var} environment variable"
        if data.env_var
        else "any folder and name that folder as the data source"
    )
    return (
        f"put the four files {_names(data)} (from {data.mirrors[0]} or another "
        f"{data.title} mirror) in {folder}, or in {where}"
    )


# ----------------------------------------------------------------------------- verifying


class _Digests:
    """md5 of a byte stream and, when it is gzip, of its content (every member; at most limit+1
    bytes of it are inflated, so a gzip bomb costs nothing)."""

    def __init__(self, limit: int, inflate: bool):
        self.raw = hashlib.md5()
        self.content = hashlib.md5() if inflate else self.raw
        self.inflater = GzipInflater() if inflate else None
        self.size = 0
        self.limit = limit
        self.broken = False

    def update(self, chunk: bytes) -> None:
        self.raw.update(chunk)
        if self.inflater is None:
            self.size += len(chunk)
            return
        if self.broken:  # past the limit or not gzip: only the raw digest still counts
            return
        try:
            for out in self.inflater.inflate(chunk):
                self.content.update(out)
                self.size += len(out)
                if self.size > self.limit:
                    self.broken = True
                    return
        except GzipError:
            self.broken = True

    def matches(self, spec: MnistFile) -> bool:
        if self.inflater is not None and self.raw.hexdigest() == spec.gz_md5:
            return True
        return (
            not self.broken
            and self._complete()
            and self.size == spec.size
            and self.content.hexdigest() == spec.md5
        )

    def _complete(self) -> bool:
        """Whether the stream ended where its content does (always, for a plain file)."""
        try:
            if self.inflater is not None:
                self.inflater.finish()
            return True
        except GzipError:
            return False


def verify_file(path: str | os.PathLike, spec: MnistFile) -> bool:
    """Whether ``path`` (gzip or plain) holds the official content described by ``spec``."""
    try:
        return _verify(path, spec)
    except OSError as exc:
        raise FormatError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _verify(path, spec: MnistFile) -> bool:
    with open(path, "rb") as f:
        gz = f.read(2) == GZIP_MAGIC
        if gz:  # fast path: the mirrors' .gz, byte for byte
            f.seek(0)
            if _md5(f) == spec.gz_md5:
                return True
        elif os.fstat(f.fileno()).st_size != spec.size:
            return False
        f.seek(0)
        digests = _Digests(spec.size, inflate=gz)
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digests.update(chunk)
            if digests.broken or digests.size > spec.size:
                return False
    return digests.matches(spec)


def _md5(f) -> str:
    h = hashlib.md5()
    for chunk in iter(lambda: f.read(_CHUNK), b""):
        h.update(chunk)
    return h.hexdigest()


# ----------------------------------------------------------------------------- downloading


class _ChecksumError(Exception):
    pass


def download_mnist(dest: str | os.PathLike, **options) -> Path:
    """Download the four MNIST files into ``dest``, verified, atomically.

    ``options``: those of ``download_dataset`` (``mirrors``, ``files``, ``progress``,
    ``timeout``).  Each file comes from the first of ``mirrors`` (default ``MIRRORS``) that serves
    it with the right checksum.  A failed or corrupt download leaves no file behind.  When every
    mirror fails, raises ``BpnnError`` saying which files to put where.
    """
    return download_dataset("mnist", dest, **options)


def download_dataset(
    dataset: str,
    dest: str | os.PathLike,
    *,
    mirrors: Iterable[str] | None = None,
    files: Mapping[str, MnistFile] | None = None,
    progress: bool | None = None,
    timeout: float = 30.0,
) -> Path:
    """Download ``files`` (default: the data set's own) of registered data set ``dataset`` into
    ``dest`` from the first of ``mirrors`` (default: its own) that serves each with the right
    checksum; ``progress``: a download bar (None: only on a terminal); ``timeout`` in seconds."""
    data = registered(dataset)
    dest = Path(dest)
    mirrors = list(data.mirrors if mirrors is None else mirrors)
    for name, spec in (data.files if files is None else files).items():
        failures = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + "/" + name
            try:
                _fetch(url, dest / name, spec, progress, timeout)
                break
            except (OSError, HTTPException, ValueError, _ChecksumError) as exc:
                failures.append(f"{url}: {_reason(exc)}")
        else:
            raise BpnnError(
                f"{data.title} is not in {dest} and could not be downloaded "
                f"({'; '.join(failures) or 'no mirrors'}): "
                f"{_where_to_put(dest, data)}"
            )
    return dest


def _reason(exc: Exception) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return str(exc) or type(exc).__name__


def _fetch(url: str, path: Path, spec: MnistFile, progress: bool | None, timeout: float) -> None:
    """Stream ``url`` into ``path`` atomically, hashing as it goes; _ChecksumError if wrong."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        digests = _Digests(spec.size, inflate=True)
        limit = spec.size + (1 << 20)  # a .gz is never much larger than its content

        def write(f) -> None:
            with _progress_bar(progress, response.length, path.name) as bar:
                got = 0
                for chunk in iter(lambda: response.read(1 << 16), b""):
                    got += len(chunk)
                    if got > limit:
                        raise _ChecksumError(f"more than {limit:,} bytes: not the MNIST file")
                    f.write(chunk)
                    digests.update(chunk)
                    bar.update(len(chunk))
            if not digests.matches(spec):
                raise _ChecksumError("checksum differs from the official MNIST file")

        atomic_write(path, write)


class _NoBar:
    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def update(self, n: int) -> None:
        pass


def _progress_bar(progress: bool | None, total: int | None, name: str):
    """A tqdm bar on stderr (None: only on a terminal), or a silent stand-in without tqdm."""
    if progress is False:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(
        total=total,
        desc=f"downloading {name}",
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        leave=False,
        file=sys.stderr,
        disable=None if progress is None else False,
    )


# ----------------------------------------------------------------------------- reading


def _check_pair(
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
        _locate(Path(folder), f"{SPLITS[split]}-{kind}")  # type: ignore[return-value]
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
    _check_pair(
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


# ----------------------------------------------------------------------------- using


def validation_split(n: int, n_val: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(train_idx, val_idx): a random ``n_val`` of ``range(n)`` held out, both sorted, disjoint.

    The same draw as ``split_indices(n, n_val, rng)``.
    """
    if not 0 <= n_val < n:
        raise ValueError(
            f"the validation set must hold 0 to {n - 1} of the {n} samples, got {n_val}"
        )
    return split_indices(n, n_val, rng)


def mnist_targets(
    labels: np.ndarray,
    loss: str,
    on: float = 0.9,
    off: float = 0.1,
    n_classes: int = 10,
    dtype=np.float64,
) -> np.ndarray:
    """Training targets for ``labels`` (n,): the loss's own (``Loss.targets``), MNIST's defaults.

    "squared": the tutorial's rows (n, n_classes), ``on`` (0.9) for the digit and ``off`` (0.1)
    elsewhere, so sigmoid outputs never need to saturate.  "cross_entropy": class indices (n,).
    """
    return get_loss(loss).targets(labels, n_classes, on, off, dtype)
