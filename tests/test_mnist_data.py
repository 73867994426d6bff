"""Finding, verifying, downloading and loading MNIST; held-out split, targets and metrics.

Downloads are tested against a local HTTP server on 127.0.0.1 (this machine cannot reach the
public mirrors): it serves the tiny synthetic data set (with checksums made for it) and, when the
real files are at hand, the real MNIST, which must pass the official checksums.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import shutil
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from bpnn.data import (
    cache_dir,
    confusion_matrix,
    download_mnist,
    error_rate,
    find_mnist,
    load_mnist,
    per_class_error,
    registry,
    split_indices,
    write_idx,
)
from bpnn.data.verify import verify_file
from bpnn.errors import BpnnError, FormatError
from bpnn.losses import get_loss
from conftest import MNIST_FILES as NAMES
from conftest import write_idx_gz


def specs_for(folder: Path) -> dict[str, registry.MnistFile]:
    """Checksums that make the files in ``folder`` 'official' (for tests of the machinery)."""
    specs = {}
    for name in NAMES:
        raw = (folder / name).read_bytes()
        content = gzip.decompress(raw)
        specs[name] = registry.MnistFile(
            len(content), hashlib.md5(content).hexdigest(), hashlib.md5(raw).hexdigest()
        )
    return specs


@pytest.fixture
def env(monkeypatch, tmp_path):
    """No BPNN_DATA, a private cache folder, no proxies: returns the cache folder."""
    monkeypatch.delenv("BPNN_DATA", raising=False)
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "bpnn" / "mnist"


@pytest.fixture
def tiny_as_official(monkeypatch, tiny_mnist_dir):
    """Pretend the tiny data set is the official one (for cache verification and downloads)."""
    specs = specs_for(tiny_mnist_dir)
    monkeypatch.setattr(registry, "MNIST_FILES", specs)
    return specs


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files, plus /short/NAME: promises all of good/NAME and sends half, then hangs up."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.hits.append(self.path)
        if self.path.startswith("/short/"):
            data = (self.server.root / "good" / self.path.rsplit("/", 1)[1]).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            return
        super().do_GET()


@pytest.fixture
def server(tmp_path, tiny_mnist_dir, env):
    """(base url, server): good/ holds the tiny set, corrupt/ the same names with other bytes."""
    root = tmp_path / "srv"
    (root / "good").mkdir(parents=True)
    (root / "corrupt").mkdir()
    for name in NAMES:
        shutil.copy(tiny_mnist_dir / name, root / "good" / name)
        (root / "corrupt" / name).write_bytes(gzip.compress(b"not MNIST at all" * 100))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
    httpd.root, httpd.hits = root, []
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", httpd
    httpd.shutdown()
    httpd.server_close()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ----------------------------------------------------------------------------- finding


def test_cache_dir_follows_xdg(tmp_path):
    assert cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "bpnn" / "mnist"
    assert cache_dir({}) == Path.home() / ".cache" / "bpnn" / "mnist"


def test_finding_order(env, monkeypatch, tmp_path, tiny_mnist_dir, tiny_as_official):
    explicit, from_env = tmp_path / "explicit", tmp_path / "from_env"
    shutil.copytree(tiny_mnist_dir, explicit)
    shutil.copytree(tiny_mnist_dir, from_env)
    shutil.copytree(tiny_mnist_dir, env)  # the cache, verified against tiny_as_official
    monkeypatch.setenv("BPNN_DATA", str(from_env))
    assert find_mnist(explicit, download=False) == explicit
    assert find_mnist(None, download=False) == from_env
    monkeypatch.delenv("BPNN_DATA")
    assert find_mnist(None, download=False) == env
    monkeypatch.setenv("BPNN_DATA", "")  # empty means unset
    assert find_mnist(download=False) == env


def test_missing_cache_without_download_says_what_to_do(env):
    with pytest.raises(BpnnError) as info:
        find_mnist(download=False)
    message = str(info.value)
    assert str(env) in message and "--data" in message and "BPNN_DATA" in message
    assert all(name in message for name in NAMES)


def test_cache_checksum_mismatch_is_an_error(env, tiny_mnist_dir):
    shutil.copytree(tiny_mnist_dir, env)  # well-formed IDX, but not the official MNIST
    with pytest.raises(FormatError, match="checksum differs") as info:
        find_mnist(download=False)
    assert str(env / NAMES[0]) in str(info.value)


def test_cache_one_flipped_byte_is_detected(env, tiny_mnist_dir, tiny_as_official):
    shutil.copytree(tiny_mnist_dir, env)
    assert find_mnist(download=False) == env
    path = env / "t10k-labels-idx1-ubyte.gz"
    content = bytearray(gzip.decompress(path.read_bytes()))
    content[-1] = (content[-1] + 1) % 10  # still a valid label file, one label changed
    path.write_bytes(gzip.compress(bytes(content)))
    with pytest.raises(FormatError, match=f"{path}: checksum differs"):
        find_mnist(download=False)


def test_explicit_folder_of_another_data_set_gives_a_notice(env, tiny_mnist_dir):
    notices = []
    assert find_mnist(tiny_mnist_dir, notice=notices.append) == tiny_mnist_dir
    assert len(notices) == 1
    assert str(tiny_mnist_dir) in notices[0] and "differ from the official MNIST" in notices[0]
    assert all(name in notices[0] for name in NAMES)


def test_notice_goes_to_stderr_by_default(env, tiny_mnist_dir, capsys):
    find_mnist(tiny_mnist_dir)
    out, err = capsys.readouterr()
    assert out == "" and "notice" in err and "official MNIST" in err


def test_explicit_folder_with_decompressed_files(env, tmp_path, tiny_mnist_dir):
    folder = tmp_path / "plain"
    folder.mkdir()
    for name in NAMES:
        content = gzip.decompress((tiny_mnist_dir / name).read_bytes())
        (folder / name.removesuffix(".gz")).write_bytes(content)
    assert find_mnist(folder, notice=lambda m: None) == folder
    images, labels = load_mnist(folder, "test")
    np.testing.assert_array_equal(images, load_mnist(tiny_mnist_dir, "test")[0])


def test_explicit_folder_structure_errors(env, tmp_path, tiny_mnist_dir, rng):
    with pytest.raises(BpnnError, match="is not a folder"):
        find_mnist(tmp_path / "nowhere")
    folder = tmp_path / "data"
    shutil.copytree(tiny_mnist_dir, folder)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(BpnnError, match="lacks t10k-labels-idx1-ubyte.gz"):
        find_mnist(folder)
    write_idx_gz(folder / "t10k-labels-idx1-ubyte.gz", np.zeros(59, np.uint8))
    with pytest.raises(FormatError, match="59 labels but t10k-images-idx3-ubyte.gz holds 60"):
        find_mnist(folder)
    write_idx_gz(folder / "t10k-labels-idx1-ubyte.gz", np.zeros(60, np.uint8))
    write_idx_gz(folder / "t10k-images-idx3-ubyte.gz", np.zeros((60, 20, 20), np.uint8))
    with pytest.raises(FormatError, match=r"t10k-images.*\(n, 28, 28\).*\(60, 20, 20\)"):
        find_mnist(folder)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros((60, 28, 28), np.float32))
    with pytest.raises(FormatError, match="float32"):
        find_mnist(folder)
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8bnot really gzip")
    with pytest.raises(FormatError, match="t10k-images-idx3-ubyte.gz: corrupt gzip"):
        find_mnist(folder)


# ----------------------------------------------------------------------------- downloading


def test_download_fails_over_to_the_next_mirror(server, tmp_path, tiny_mnist_dir, tiny_as_official):
    base, httpd = server
    dest = tmp_path / "dest"
    download_mnist(
        dest, mirrors=[f"{base}/missing/", f"{base}/corrupt/", f"{base}/good"], progress=False
    )
    assert leftovers(dest) == sorted(NAMES)
    for name in NAMES:
        assert (dest / name).read_bytes() == (tiny_mnist_dir / name).read_bytes()
    tried = [hit for hit in httpd.hits if hit.endswith(NAMES[0])]
    assert tried == [f"/missing/{NAMES[0]}", f"/corrupt/{NAMES[0]}", f"/good/{NAMES[0]}"]


def test_download_unreachable_then_good(server, tmp_path, tiny_as_official):
    base, _ = server
    dest = download_mnist(
        tmp_path / "d", mirrors=["http://127.0.0.1:1/", f"{base}/good/"], progress=False
    )
    assert leftovers(dest) == sorted(NAMES)


def test_all_mirrors_fail_gives_the_offline_message(server, tmp_path, tiny_as_official):
    base, _ = server
    dest = tmp_path / "dest"
    with pytest.raises(BpnnError) as info:
        download_mnist(
            dest, mirrors=[f"{base}/missing/", f"{base}/corrupt/", f"{base}/short/"], progress=False
        )
    message = str(info.value)
    assert "\n" not in message
    assert f"MNIST is not in {dest}" in message and "could not be downloaded" in message
    assert "HTTP 404" in message and "checksum differs" in message
    assert all(name in message for name in NAMES)
    assert "--data" in message and "BPNN_DATA" in message
    assert leftovers(dest) == []  # no partial or temporary file left behind


def test_interrupted_transfer_leaves_nothing(server, tmp_path, tiny_as_official):
    base, _ = server
    dest = tmp_path / "dest"
    with pytest.raises(BpnnError, match="short"):
        download_mnist(dest, mirrors=[f"{base}/short/"], progress=False)
    assert leftovers(dest) == []


def test_failed_download_keeps_the_old_file(server, tmp_path, tiny_as_official):
    base, _ = server
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / NAMES[0]).write_bytes(b"previous")
    with pytest.raises(BpnnError):
        download_mnist(dest, mirrors=[f"{base}/corrupt/"], progress=False)
    assert leftovers(dest) == [NAMES[0]] and (dest / NAMES[0]).read_bytes() == b"previous"


def test_find_mnist_downloads_into_the_cache_once(server, env, monkeypatch, tiny_as_official):
    base, httpd = server
    monkeypatch.setattr(registry, "MIRRORS", (f"{base}/missing/", f"{base}/good/"))
    assert find_mnist(progress=False) == env
    assert leftovers(env) == sorted(NAMES)
    hits = len(httpd.hits)
    assert find_mnist(progress=False) == env
    assert len(httpd.hits) == hits  # verified from the cache, nothing fetched again


def test_find_mnist_replaces_a_corrupt_cached_file(
    server, env, monkeypatch, tiny_mnist_dir, tiny_as_official
):
    base, _ = server
    monkeypatch.setattr(registry, "MIRRORS", (f"{base}/good/",))
    shutil.copytree(tiny_mnist_dir, env)
    (env / NAMES[1]).write_bytes(gzip.compress(b"garbage"))
    notices = []
    assert find_mnist(progress=False, notice=notices.append) == env
    assert (env / NAMES[1]).read_bytes() == (tiny_mnist_dir / NAMES[1]).read_bytes()
    assert len(notices) == 1 and "downloading it again" in notices[0]


def test_find_mnist_offline(env, monkeypatch):
    monkeypatch.setattr(registry, "MIRRORS", ("http://127.0.0.1:1/", "http://127.0.0.1:1/other/"))
    with pytest.raises(BpnnError) as info:
        find_mnist(progress=False)
    message = str(info.value)
    assert f"MNIST is not in {env}" in message and "--data" in message and "BPNN_DATA" in message
    assert all(name in message for name in NAMES)
    assert leftovers(env) == []


def test_progress_bar_on_request(server, tmp_path, tiny_as_official, capsys):
    pytest.importorskip("tqdm")
    base, _ = server
    download_mnist(tmp_path / "d", mirrors=[f"{base}/good/"], progress=True)
    assert "downloading train-images-idx3-ubyte.gz" in capsys.readouterr().err
    download_mnist(tmp_path / "e", mirrors=[f"{base}/good/"])  # not a terminal: silent
    assert capsys.readouterr().err == ""


def test_real_mnist_downloads_and_verifies(server, env, monkeypatch, mnist_dir, tmp_path):
    """The real files, served locally, pass the official checksums (the recompressed .gz differ
    from the mirrors', so this checks the md5 of the decompressed bytes)."""
    base, httpd = server
    (httpd.root / "real").mkdir()
    for name in NAMES:
        (httpd.root / "real" / name).symlink_to(mnist_dir / name)
    monkeypatch.setattr(registry, "MIRRORS", (f"{base}/good/", f"{base}/real/"))
    assert find_mnist(progress=False) == env
    assert all(verify_file(env / name, registry.MNIST_FILES[name]) for name in NAMES)


# ----------------------------------------------------------------------------- loading


def test_load_tiny(tiny_mnist_dir):
    for split, prefix, n in (("train", "train", 240), ("test", "t10k", 60)):
        images, labels = load_mnist(tiny_mnist_dir, split)
        assert images.shape == (n, 784) and images.dtype == np.uint8
        assert labels.shape == (n,) and labels.dtype == np.uint8
        raw = gzip.decompress((tiny_mnist_dir / f"{prefix}-images-idx3-ubyte.gz").read_bytes())
        np.testing.assert_array_equal(images.ravel(), np.frombuffer(raw[16:], np.uint8))
        raw = gzip.decompress((tiny_mnist_dir / f"{prefix}-labels-idx1-ubyte.gz").read_bytes())
        np.testing.assert_array_equal(labels, np.frombuffer(raw[8:], np.uint8))
        # the fixture's digit k lights row 2k+4: row-major flattening keeps that row together
        k = int(labels[0])
        assert images[0].reshape(28, 28)[2 * k + 4, 4:24].min() >= 200


def test_load_errors(tmp_path, tiny_mnist_dir):
    with pytest.raises(ValueError, match="split"):
        load_mnist(tiny_mnist_dir, "validation")
    with pytest.raises(BpnnError, match="train-images-idx3-ubyte.gz: no such file"):
        load_mnist(tmp_path, "train")
    folder = tmp_path / "bad"
    shutil.copytree(tiny_mnist_dir, folder)
    write_idx_gz(folder / "t10k-labels-idx1-ubyte.gz", np.full(60, 10, np.uint8))
    with pytest.raises(FormatError, match="t10k-labels-idx1-ubyte.gz: labels must be digits 0..9"):
        load_mnist(folder, "test")
    write_idx_gz(folder / "t10k-labels-idx1-ubyte.gz", np.zeros(61, np.uint8))
    with pytest.raises(FormatError, match="61 labels"):
        load_mnist(folder, "test")


# ----------------------------------------------------------------------------- using


def test_held_out_split(rng):
    train, val = split_indices(100, 20, np.random.default_rng(3))
    again_train, again_val = split_indices(100, 20, np.random.default_rng(3))
    np.testing.assert_array_equal(train, again_train)
    np.testing.assert_array_equal(val, again_val)
    assert len(train) == 80 and len(val) == 20
    assert np.all(np.diff(train) > 0) and np.all(np.diff(val) > 0)
    assert np.intersect1d(train, val).size == 0
    np.testing.assert_array_equal(np.union1d(train, val), np.arange(100))
    other = split_indices(100, 20, np.random.default_rng(4))[1]
    assert not np.array_equal(val, other)
    assert len(split_indices(10, 0, rng)[1]) == 0
    for n_val in (-1, 10, 11):
        with pytest.raises(ValueError, match="held-out count|nothing to keep"):
            split_indices(10, n_val, rng)


def test_targets():
    labels = np.array([3, 0, 9], np.uint8)

    def targets(loss, on=0.9, off=0.1):  # MNIST's: ten classes, the tutorial's 0.9 / 0.1
        return get_loss(loss).targets(labels, 10, on, off, np.float64)

    squared = targets("squared")
    assert squared.shape == (3, 10)
    expected = np.full((3, 10), 0.1)
    expected[[0, 1, 2], [3, 0, 9]] = 0.9
    np.testing.assert_array_equal(squared, expected)
    np.testing.assert_array_equal(targets("squared", on=1, off=0).sum(axis=1), 1)
    indices = targets("cross_entropy")
    assert indices.dtype == np.intp
    np.testing.assert_array_equal(indices, [3, 0, 9])
    with pytest.raises(ValueError, match="unknown loss"):
        targets("hinge")
    labels = np.array([10])
    with pytest.raises(ValueError, match="0..9"):
        targets("cross_entropy")


def test_metrics_by_hand():
    labels = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2, 0])
    predicted = np.array([0, 1, 1, 1, 2, 2, 0, 2, 2, 0])
    # true 0: predicted 0, 1, 0 -> [2, 1, 0]; true 1: 1, 1, 2 -> [0, 2, 1];
    # true 2: 2, 0, 2, 2 -> [1, 0, 3]; wrong: 3 of 10
    cm = confusion_matrix(predicted, labels, n_classes=3)
    np.testing.assert_array_equal(cm, [[2, 1, 0], [0, 2, 1], [1, 0, 3]])
    assert error_rate(predicted, labels) == pytest.approx(0.3)
    np.testing.assert_allclose(per_class_error(cm), [1 / 3, 1 / 3, 1 / 4])
    cm10 = confusion_matrix(predicted, labels)
    assert cm10.shape == (10, 10) and cm10.sum() == 10
    np.testing.assert_array_equal(per_class_error(cm10)[3:], 0)  # no samples: 0, not NaN
    with pytest.raises(ValueError, match="one length"):
        error_rate(predicted[:3], labels)
    with pytest.raises(ValueError, match="0..2"):
        confusion_matrix(predicted, labels, n_classes=2)


# ----------------------------------------------------------------------------- real MNIST


def test_real_mnist(mnist_dir, tmp_path):
    notices = []
    assert find_mnist(mnist_dir, notice=notices.append) == mnist_dir
    assert notices == []  # official checksums: no notice
    assert all(verify_file(mnist_dir / name, spec) for name, spec in registry.MNIST_FILES.items())
    images, labels = load_mnist(mnist_dir, "train")
    assert images.shape == (60000, 784) and images.dtype == np.uint8 and labels.shape == (60000,)
    test_images, test_labels = load_mnist(mnist_dir, "test")
    assert test_images.shape == (10000, 784) and test_labels.shape == (10000,)
    assert set(np.unique(labels)) == set(range(10))
    # mean and std of the pixels scaled to [0, 1], from a histogram (no 376 MB float copy)
    counts = np.bincount(images.ravel(), minlength=256)
    values = np.arange(256) / 255
    mean = counts @ values / counts.sum()
    std = np.sqrt(counts @ (values - mean) ** 2 / counts.sum())
    assert mean == pytest.approx(0.1306604763, abs=1e-9)
    assert std == pytest.approx(0.3081078039, abs=1e-9)


def test_download_with_bytes_after_the_gzip_data_is_refused(
    server, tmp_path, tiny_mnist_dir, tiny_as_official
):
    """A mirror serving the right data plus trailing bytes: refused (checksum), never a hang."""
    base, httpd = server
    (httpd.root / "trailing").mkdir()
    for name in NAMES:
        (httpd.root / "trailing" / name).write_bytes((tiny_mnist_dir / name).read_bytes() + b"junk")
    with pytest.raises(BpnnError, match="checksum differs"):
        download_mnist(tmp_path / "d", mirrors=[f"{base}/trailing/"], progress=False)
    dest = download_mnist(
        tmp_path / "d", mirrors=[f"{base}/trailing/", f"{base}/good/"], progress=False
    )
    assert leftovers(dest) == sorted(NAMES)
