"""``load_source``: IDX folders of any image size, CSV, .npz, registered names; ``test=``;
``Dataset.checksum``; ``split_indices``.

Data is tiny and made here (or scikit-learn's ``load_digits`` when installed); registered names
resolve to the real MNIST through ``BPNN_DATA``, and downloads go to a local HTTP server (this
machine cannot reach the public mirrors).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import http.server
import threading
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from bpnn.data import load_idx_folder, load_mnist, load_source, registry, split_indices, write_idx
from bpnn.errors import BpnnError, FormatError
from conftest import MNIST_FILES as NAMES


def write_idx_folder(
    folder: Path,
    images: np.ndarray,
    labels: np.ndarray,
    test: tuple[np.ndarray, np.ndarray] | None = None,
) -> Path:
    """MNIST's layout in ``folder``: train-* (and t10k-* when ``test`` is given), gzip."""
    folder.mkdir(parents=True, exist_ok=True)
    splits = [("train", images, labels)] + ([("t10k", *test)] if test is not None else [])
    for prefix, X, y in splits:
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", X)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", y)
    return folder


def write_csv(path: Path, header: list[str], rows: list[list], newline: str = "\n") -> Path:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text(newline.join(lines) + newline, encoding="utf-8")
    return path


def images(rng, n: int, h: int, w: int) -> np.ndarray:
    return rng.integers(0, 256, size=(n, h, w), dtype=np.uint8)


def one_line_error(kind, call, *fragments: str) -> str:
    """Run ``call``, expect ``kind`` whose message is one line holding every fragment."""
    with pytest.raises(kind) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


# ----------------------------------------------------------------------------- IDX folders


@pytest.mark.parametrize("h, w", [(8, 8), (32, 32), (5, 7)])
def test_idx_folder_of_any_image_size(tmp_path, rng, h, w):
    X, y = images(rng, 30, h, w), rng.integers(0, 40, 30).astype(np.uint8)  # labels beyond 0..9
    Xt, yt = images(rng, 6, h, w), rng.integers(0, 40, 6).astype(np.uint8)
    folder = write_idx_folder(tmp_path / "set", X, y, (Xt, yt))
    data = load_source(folder)
    assert data.kind == "image" and data.image_shape == (h, w)
    assert data.X_train.dtype == np.uint8 and data.X_train.shape == (30, h * w)
    np.testing.assert_array_equal(data.X_train, X.reshape(30, -1))  # row-major flattening
    np.testing.assert_array_equal(data.X_train[3].reshape(h, w), X[3])
    np.testing.assert_array_equal(data.y_train, y)
    np.testing.assert_array_equal(data.X_test, Xt.reshape(6, -1))
    np.testing.assert_array_equal(data.y_test, yt)
    assert data.source == str(folder.resolve())
    assert (
        data.describe() == f"{folder.resolve()}: 30 training + 6 test samples, {h * w} "
        f"features ({h}x{w} images)"
    )


def test_idx_folder_without_test_files(tmp_path, rng):
    folder = write_idx_folder(tmp_path / "set", images(rng, 10, 8, 8), np.zeros(10, np.uint8))
    data = load_source(folder)
    assert data.X_test is None and data.y_test is None
    assert data.describe().endswith(": 10 samples, 64 features (8x8 images)")


def test_load_idx_folder_and_load_mnist_keep_their_rules(tmp_path, rng):
    folder = write_idx_folder(tmp_path / "set", images(rng, 10, 8, 8), np.full(10, 12, np.uint8))
    X, y, shape = load_idx_folder(folder, "train")
    assert X.shape == (10, 64) and shape == (8, 8) and (y == 12).all()
    with pytest.raises(FormatError, match=r"\(n, 28, 28\).*\(10, 8, 8\)"):
        load_mnist(folder, "train")


def test_idx_folder_errors(tmp_path, rng):
    folder = write_idx_folder(
        tmp_path / "set",
        images(rng, 10, 8, 8),
        np.zeros(10, np.uint8),
        (images(rng, 4, 7, 7), np.zeros(4, np.uint8)),
    )
    one_line_error(
        FormatError, lambda: load_source(folder), "test images are 7x7", "training images are 8x8"
    )
    (folder / "train-labels-idx1-ubyte.gz").unlink()
    one_line_error(BpnnError, lambda: load_source(folder), "train-labels-idx1-ubyte.gz: no such")


# ----------------------------------------------------------------------------- CSV


def test_csv_integer_labels(tmp_path):
    path = write_csv(
        tmp_path / "d.csv", ["a", "b", "label"], [[1, 2.5, 0], [3, -4e-3, 2], [5, 6, 1]]
    )
    data = load_source(path)
    assert data.kind == "tabular" and data.image_shape is None and data.X_test is None
    assert data.X_train.dtype == np.float64
    np.testing.assert_array_equal(data.X_train, [[1, 2.5], [3, -4e-3], [5, 6]])
    assert data.y_train.dtype == np.int64
    np.testing.assert_array_equal(data.y_train, [0, 2, 1])
    assert data.feature_names == ["a", "b"] and data.target_names == ["label"]
    assert data.describe() == f"{path.resolve()}: 3 samples, 2 inputs from 2 columns, target label"


def test_csv_string_labels_bom_crlf_and_blank_trailing_lines(tmp_path):
    path = tmp_path / "iris.csv"
    text = "sepal,petal,species\r\n1.0,2.0,setosa\r\n3.0,4.0, virginica\r\n5,6,setosa\r\n\r\n\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    data = load_source(path)
    assert data.feature_names == ["sepal", "petal"]  # the BOM is not part of the first name
    assert data.y_train.dtype.kind == "U"
    assert data.y_train.tolist() == ["setosa", "virginica", "setosa"]
    assert data.X_train.shape == (3, 2)


def test_csv_float_target_and_a_middle_target(tmp_path):
    path = write_csv(
        tmp_path / "r.csv", ["x", "price", "z"], [[1, 10.5, 7], [2, 11, 8], [3, 12, 9]]
    )
    default = load_source(path)
    assert default.target_names == ["z"] and default.y_train.dtype == np.int64
    data = load_source(path, target="price")
    assert data.y_train.dtype == np.float64
    np.testing.assert_array_equal(data.y_train, [10.5, 11, 12])
    assert data.feature_names == ["x", "z"]
    np.testing.assert_array_equal(data.X_train, [[1, 7], [2, 8], [3, 9]])


def test_csv_quoted_fields(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('"a","b","name"\n1,2,"New York, NY"\n3,4,"Paris"\n')
    assert load_source(path).y_train.tolist() == ["New York, NY", "Paris"]


@pytest.mark.parametrize(
    "rows, fragments",
    [
        ([[1, "inf", 0]], ["line 2", "column 'b'", "not a finite number"]),
        ([[1, 2, 0], [3, "-1e300", 1]], ["line 3", "column 'b'", "float32"]),
        ([[1, 2, 0], [3, 4, 5, 6]], ["line 3", "4 fields", "header has 3 columns"]),
        ([[1, 2, 0], [3, 4]], ["line 3", "2 fields"]),
    ],
)
def test_csv_errors_name_line_and_column(tmp_path, rows, fragments):
    path = write_csv(tmp_path / "bad.csv", ["a", "b", "y"], rows)
    one_line_error(FormatError, lambda: load_source(path), str(path), *fragments)


def test_csv_unknown_target_lists_the_columns(tmp_path):
    path = write_csv(tmp_path / "d.csv", ["a", "b", "y"], [[1, 2, 3]])
    one_line_error(
        BpnnError,
        lambda: load_source(path, target="label"),
        str(path),
        "no column named 'label'",
        "columns: a, b, y",
    )


@pytest.mark.parametrize(
    "content, fragment",
    [
        (b"", "empty file"),
        (b"\n\n", "empty file"),
        (b"a,b,y\n", "no data rows"),
        (b"a,b,y\n\n", "no data rows"),
        (b"y\n1\n", "at least one feature"),
        (b"a,a,y\n1,2,3\n", "more than once"),
        (b"a,b,y\n1,2,caf\xe9\n", "line 2: not UTF-8"),
    ],
)
def test_csv_file_errors(tmp_path, content, fragment):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    one_line_error(FormatError, lambda: load_source(path), str(path), fragment)


# ----------------------------------------------------------------------------- .npz


def test_npz_without_test_arrays(tmp_path, rng):
    X, y = rng.normal(size=(20, 3)).astype(np.float32), rng.normal(size=(20, 2))
    np.savez(tmp_path / "d.npz", X_train=X, y_train=y)
    data = load_source(tmp_path / "d.npz")
    assert data.kind == "tabular" and data.X_test is None and data.image_shape is None
    assert data.X_train.dtype == np.float32  # as stored
    np.testing.assert_array_equal(data.X_train, X)
    np.testing.assert_array_equal(data.y_train, y)


def test_npz_with_test_arrays_and_string_labels(tmp_path, rng):
    np.savez(
        tmp_path / "d.npz",
        X_train=rng.integers(0, 9, (8, 4)),
        y_train=np.array(list("abababab")),
        X_test=rng.integers(0, 9, (3, 4)),
        y_test=np.array(["a", "b", "a"]),
    )
    data = load_source(tmp_path / "d.npz")
    assert data.X_test.shape == (3, 4) and data.y_test.tolist() == ["a", "b", "a"]
    assert data.y_train.dtype.kind == "U"


def test_npz_images(tmp_path, rng):
    X = images(rng, 12, 4, 6)
    np.savez_compressed(tmp_path / "img.npz", X_train=X, y_train=np.arange(12) % 3)
    data = load_source(tmp_path / "img.npz")
    assert data.kind == "image" and data.image_shape == (4, 6)
    np.testing.assert_array_equal(data.X_train, X.reshape(12, 24))


def test_npz_refuses_objects_and_pickles(tmp_path):
    objects = np.array([{"a": 1}, None], dtype=object)
    np.savez(tmp_path / "obj.npz", X_train=np.zeros((2, 2)), y_train=objects)
    one_line_error(
        FormatError,
        lambda: load_source(tmp_path / "obj.npz"),
        "obj.npz",
        "y_train holds Python objects",
    )
    import pickle

    (tmp_path / "p.npz").write_bytes(pickle.dumps({"X_train": [[1]]}))
    one_line_error(
        FormatError, lambda: load_source(tmp_path / "p.npz"), "p.npz", "not a .npz archive"
    )
    np.save(tmp_path / "one.npy", np.zeros((2, 2)))
    (tmp_path / "one.npy").rename(tmp_path / "one.npz")
    one_line_error(FormatError, lambda: load_source(tmp_path / "one.npz"), "single array")


@pytest.mark.parametrize(
    "arrays, fragment",
    [
        ({"X_train": np.zeros((3, 2))}, "needs arrays X_train and y_train"),
        (
            {"X_train": np.zeros((3, 2)), "y_train": np.zeros(4)},
            "y_train holds 4 samples but X_train holds 3",
        ),
        ({"X_train": np.zeros(3), "y_train": np.zeros(3)}, "X_train must be a numeric array"),
        (
            {"X_train": np.array([[1, np.nan], [np.inf, 2]]), "y_train": np.zeros(2)},
            "X_train holds 2 NaN",
        ),
        ({"X_train": np.zeros((2, 2)), "y_train": np.zeros((2, 2), int)}, "y_train must be"),
        (
            {"X_train": np.zeros((2, 2)), "y_train": np.zeros(2), "X_test": np.zeros((1, 2))},
            "X_test and y_test come together",
        ),
        (
            {
                "X_train": np.zeros((2, 2)),
                "y_train": np.zeros(2),
                "X_test": np.zeros((1, 3)),
                "y_test": np.zeros(1),
            },
            "do not fit",
        ),
    ],
)
def test_npz_errors(tmp_path, arrays, fragment):
    np.savez(tmp_path / "bad.npz", **arrays)
    one_line_error(FormatError, lambda: load_source(tmp_path / "bad.npz"), "bad.npz", fragment)


# ----------------------------------------------------------------------------- checksum


def test_checksum_stable_and_sensitive(tmp_path, rng):
    X, y = rng.normal(size=(10, 3)), rng.integers(0, 3, 10)
    np.savez(tmp_path / "a.npz", X_train=X, y_train=y)
    first, again = load_source(tmp_path / "a.npz"), load_source(tmp_path / "a.npz")
    assert first.checksum() == again.checksum() and len(first.checksum()) == 64
    X2 = X.copy()
    X2[4, 1] = np.nextafter(X2[4, 1], np.inf)  # one value, one ulp
    np.savez(tmp_path / "b.npz", X_train=X2, y_train=y)
    assert load_source(tmp_path / "b.npz").checksum() != first.checksum()
    np.savez(tmp_path / "c.npz", X_train=X.astype(np.float32).astype(np.float64), y_train=y)
    assert load_source(tmp_path / "c.npz").checksum() != first.checksum()
    # by hand: sha256 over dtype, shape and bytes, absent arrays skipped
    h = hashlib.sha256()
    for a in (X, y):
        h.update(f"{a.dtype.str}{a.shape};".encode())
        h.update(a.tobytes())
    assert first.checksum() == h.hexdigest()
    with_test = replace(first, X_test=X[:2], y_test=y[:2])
    assert with_test.checksum() != first.checksum()


def test_checksum_of_csv_is_stable(tmp_path):
    path = write_csv(tmp_path / "d.csv", ["a", "y"], [[1, "x"], [2, "y"]])
    before = load_source(path).checksum()
    assert load_source(path).checksum() == before
    write_csv(path, ["a", "y"], [[1, "x"], [2, "z"]])  # one label changed
    assert load_source(path).checksum() != before


# ----------------------------------------------------------------------------- test=


def test_test_source_csv(tmp_path):
    train = write_csv(tmp_path / "train.csv", ["a", "b", "y"], [[1, 2, 0.5], [3, 4, 1.5]])
    test = write_csv(tmp_path / "test.csv", ["a", "b", "y"], [[5, 6, 2]])  # integral target
    data = load_source(train, test=test)
    assert data.y_train.dtype == data.y_test.dtype == np.float64  # one type for both
    np.testing.assert_array_equal(data.X_test, [[5, 6]])
    assert data.describe().startswith(f"{train.resolve()} + {test.resolve()}: 2 training + 1 test")
    other = write_csv(tmp_path / "other.csv", ["b", "y", "a", "extra"], [[6, 2, 5, "x"]])
    again = load_source(train, test=other)  # columns found by name, in any order
    np.testing.assert_array_equal(again.X_test, [[5, 6]])
    lacking = write_csv(tmp_path / "lacking.csv", ["b", "y"], [[6, 2]])
    one_line_error(
        BpnnError, lambda: load_source(train, test=lacking), "lacking.csv", "no column 'a'"
    )


def test_test_source_width_mismatch(tmp_path, rng):
    np.savez(tmp_path / "train.npz", X_train=rng.normal(size=(5, 3)), y_train=np.zeros(5))
    np.savez(tmp_path / "test.npz", X_train=rng.normal(size=(2, 4)), y_train=np.zeros(2))
    one_line_error(
        BpnnError,
        lambda: load_source(tmp_path / "train.npz", test=tmp_path / "test.npz"),
        "test.npz",
        "(the test set) has 4 features",
        "has 3",
    )
    np.savez(tmp_path / "good.npz", X_train=rng.normal(size=(2, 3)), y_train=np.ones(2))
    data = load_source(tmp_path / "train.npz", test=tmp_path / "good.npz")
    assert data.X_test.shape == (2, 3) and (data.y_test == 1).all()


def test_test_source_idx_folders(tmp_path, rng):
    train = write_idx_folder(tmp_path / "tr", images(rng, 9, 8, 8), np.zeros(9, np.uint8))
    test = write_idx_folder(tmp_path / "te", images(rng, 3, 8, 8), np.ones(3, np.uint8))
    wide = write_idx_folder(tmp_path / "wide", images(rng, 3, 4, 16), np.ones(3, np.uint8))
    data = load_source(train, test=test)
    assert data.X_test.shape == (3, 64) and data.image_shape == (8, 8)
    only_t10k = tmp_path / "t10k"
    only_t10k.mkdir()
    for kind in ("images-idx3-ubyte.gz", "labels-idx1-ubyte.gz"):
        (test / f"train-{kind}").rename(only_t10k / f"t10k-{kind}")
    again = load_source(train, test=only_t10k)  # a folder of t10k files only: those
    np.testing.assert_array_equal(again.X_test, data.X_test)
    np.testing.assert_array_equal(again.y_test, data.y_test)
    one_line_error(BpnnError, lambda: load_source(train, test=wide), "64 (4x16 images) features")


def test_test_source_rules(tmp_path, rng):
    both = write_idx_folder(
        tmp_path / "both",
        images(rng, 4, 8, 8),
        np.zeros(4, np.uint8),
        (images(rng, 2, 8, 8), np.zeros(2, np.uint8)),
    )
    single = write_idx_folder(tmp_path / "single", images(rng, 4, 8, 8), np.zeros(4, np.uint8))
    one_line_error(BpnnError, lambda: load_source(both, test=single), "has its own test set")
    csv_file = write_csv(tmp_path / "d.csv", ["a", "y"], [[1, 2]])
    one_line_error(
        BpnnError,
        lambda: load_source(single, test=csv_file),
        "is a .csv file",
        "is an IDX folder",
        "one format",
    )
    one_line_error(BpnnError, lambda: load_source(single, target="y"), "target= names a CSV column")


# ----------------------------------------------------------------------------- SOURCE itself


@pytest.mark.parametrize(
    "name, fragment",
    [
        ("cifar-10", "no such file, folder or registered data set"),
        ("data.txt", "not a data source"),
        ("data.npy", "numpy.savez"),
    ],
)
def test_anything_else_says_what_source_may_be(tmp_path, name, fragment):
    for existing in ("data.txt", "data.npy"):
        (tmp_path / existing).write_text("1,2\n")
    source = tmp_path / name if name != "cifar-10" else name
    message = one_line_error(BpnnError, lambda: load_source(source), fragment, "SOURCE is")
    assert all(part in message for part in (".csv", ".npz", "IDX", "mnist, fashion-mnist, kmnist"))


@pytest.mark.parametrize("name", ["nowhere.csv", "nowhere.PARQUET", "x.npz", "t.csv.gz"])
def test_a_missing_data_file_is_said_in_a_few_words(tmp_path, name):
    """A name that is plainly a file's: "PATH: no such file", not what SOURCE may be."""
    with pytest.raises(BpnnError) as caught:
        load_source(tmp_path / name)
    assert str(caught.value) == f"{tmp_path / name}: no such file"


# ----------------------------------------------------------------------------- registered names


@pytest.fixture
def offline_env(monkeypatch, tmp_path):
    """No BPNN_DATA, a private cache, no proxies: returns the XDG cache base."""
    monkeypatch.delenv("BPNN_DATA", raising=False)
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "bpnn"


def test_registry_entries():
    assert set(registry.DATASETS) == {"mnist", "fashion-mnist", "kmnist"}
    for entry in registry.DATASETS.values():
        assert list(entry.files) == list(NAMES) and len(entry.classes) == 10 and entry.mirrors
        sizes = [spec.size for spec in entry.files.values()]
        assert sizes == [16 + 60000 * 784, 8 + 60000, 16 + 10000 * 784, 8 + 10000]
        assert all(len(spec.gz_md5) == 32 for spec in entry.files.values())
    assert registry.DATASETS["fashion-mnist"].classes[0] == "T-shirt/top"
    assert registry.registered("mnist").files is registry.MNIST_FILES


def test_mnist_by_name_honours_bpnn_data(offline_env, monkeypatch, mnist_dir):
    monkeypatch.setenv("BPNN_DATA", str(mnist_dir))
    data = load_source("mnist")
    assert data.source == "mnist" and data.kind == "image" and data.image_shape == (28, 28)
    assert data.X_train.shape == (60000, 784) and data.X_test.shape == (10000, 784)
    assert data.y_train.dtype == np.uint8 and data.class_names == list("0123456789")
    np.testing.assert_array_equal(data.X_test, load_mnist(mnist_dir, "test")[0])
    assert (
        data.describe() == "mnist: 60000 training + 10000 test samples, 784 features (28x28 images)"
    )
    one_line_error(BpnnError, lambda: load_source("mnist", test=mnist_dir), "its own test set")


def test_fashion_mnist_offline_gives_the_offline_message(offline_env, monkeypatch):
    entry = registry.DATASETS["fashion-mnist"]
    monkeypatch.setitem(
        registry.DATASETS,
        "fashion-mnist",
        replace(entry, mirrors=("http://127.0.0.1:1/", "http://127.0.0.1:1/b/")),
    )
    cache = offline_env / "fashion-mnist"
    message = one_line_error(
        BpnnError,
        lambda: load_source("fashion-mnist"),
        f"Fashion-MNIST is not in {cache}",
        "could not be downloaded",
        "http://127.0.0.1:1/",
        *NAMES,
    )
    assert "or another Fashion-MNIST mirror" in message
    assert not cache.exists() or not list(cache.iterdir())


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_registered_download_through_a_local_mirror(
    offline_env, monkeypatch, tmp_path, tiny_mnist_dir
):
    """KMNIST's machinery with the tiny set as its 'official' files, .gz md5s only."""
    specs = {}
    for name in NAMES:
        raw = (tiny_mnist_dir / name).read_bytes()
        specs[name] = registry.MnistFile(
            len(gzip.decompress(raw)), None, hashlib.md5(raw).hexdigest()
        )
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(_Quiet, directory=str(tiny_mnist_dir))
    )
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/"
        monkeypatch.setitem(
            registry.DATASETS,
            "kmnist",
            replace(registry.DATASETS["kmnist"], files=specs, mirrors=("http://127.0.0.1:1/", url)),
        )
        data = load_source("kmnist")
    finally:
        httpd.shutdown()
        httpd.server_close()
    cache = offline_env / "kmnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(NAMES)
    assert data.source == "kmnist" and data.X_train.shape == (240, 784)
    assert data.class_names[:3] == ["o", "ki", "su"]
    assert load_source("kmnist").checksum() == data.checksum()  # from the cache, verified


# ----------------------------------------------------------------------------- split_indices


def test_split_indices_counts_and_fractions():
    keep, held = split_indices(100, 20, np.random.default_rng(3))
    assert len(keep) == 80 and len(held) == 20
    assert np.all(np.diff(keep) > 0) and np.all(np.diff(held) > 0)
    np.testing.assert_array_equal(np.union1d(keep, held), np.arange(100))
    again = split_indices(100, 0.2, np.random.default_rng(3))  # the same draw as the count
    np.testing.assert_array_equal(again[1], held)
    assert len(split_indices(100, 0.29, np.random.default_rng(0))[1]) == 29  # not 28
    assert len(split_indices(15, 0.1, np.random.default_rng(0))[1]) == 1  # rounded down
    assert len(split_indices(5, 0, np.random.default_rng(0))[1]) == 0
    assert len(split_indices(5, 0.0, np.random.default_rng(0))[0]) == 5
    assert len(split_indices(10, np.int64(9), np.random.default_rng(0))[0]) == 1


@pytest.mark.parametrize(
    "n, size, fragment",
    [
        (10, 10, "leaves nothing to keep"),
        (10, 11, "leaves nothing"),
        (0, 0, "leaves nothing"),
        (10, -1, "0 or more"),
        (10, 1.0, "[0, 1)"),
        (10, -0.1, "[0, 1)"),
        (10, True, "count or"),
        (10, "3", "count or"),
    ],
)
def test_split_indices_errors(n, size, fragment):
    with pytest.raises(ValueError, match=fragment.replace("[", r"\[").replace(")", r"\)")):
        split_indices(n, size, np.random.default_rng(0))


# ----------------------------------------------------------------------------- real data


def test_sklearn_digits_as_csv_and_idx(tmp_path):
    datasets = pytest.importorskip("sklearn.datasets")
    digits = datasets.load_digits()
    X = digits.images.astype(np.uint8)  # (1797, 8, 8), grey levels 0..16
    y = digits.target.astype(np.uint8)
    with open(tmp_path / "digits.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([f"p{i}" for i in range(64)] + ["digit"])
        writer.writerows([*row, label] for row, label in zip(X.reshape(-1, 64), y))
    folder = write_idx_folder(tmp_path / "digits", X[:1500], y[:1500], (X[1500:], y[1500:]))
    table, idx = load_source(tmp_path / "digits.csv"), load_source(folder)
    assert table.X_train.shape == (1797, 64) and table.y_train.dtype == np.int64
    assert sorted(set(table.y_train.tolist())) == list(range(10))
    np.testing.assert_array_equal(table.X_train, digits.data)
    np.testing.assert_array_equal(table.y_train, digits.target)
    assert idx.image_shape == (8, 8) and idx.X_train.shape == (1500, 64)
    np.testing.assert_array_equal(np.vstack([idx.X_train, idx.X_test]), table.X_train)
    np.testing.assert_array_equal(np.concatenate([idx.y_train, idx.y_test]), table.y_train)
