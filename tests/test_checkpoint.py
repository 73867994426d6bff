"""Model files: plain arrays + JSON, atomic, and clear errors for anything that is not a model."""

from __future__ import annotations

import json

import numpy as np
import pytest

import bpnn
from bpnn.errors import FormatError
from bpnn.fileio import atomic_write
from bpnn.modelfile import load_arrays, save_arrays


def small_net(**kw):
    return bpnn.Network([6, 5, 3], activation="tanh", loss="cross_entropy", seed=1, **kw)


def test_model_round_trip(tmp_path):
    net = small_net(dtype=np.float32, dropout=0.25)
    path = tmp_path / "model.npz"
    bpnn.modelfile.save_model(path, net, {"results": {"test_error": 0.5}})
    loaded, meta = bpnn.modelfile.load_model(path)
    assert loaded.config() == net.config()
    for a, b in zip(loaded.params(), net.params()):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == np.float32
    assert meta["results"] == {"test_error": 0.5} and meta["version"] == 1
    X = np.random.default_rng(0).random((4, 6))
    model = bpnn.load(path)  # a Model: the saved (default MNIST 1/255) preprocessing applies
    np.testing.assert_array_equal(model.net.predict(X), net.predict(X))
    np.testing.assert_allclose(
        model.outputs(X), net.predict((X * np.float32(1 / 255)).astype(np.float32)), rtol=1e-6
    )
    np.testing.assert_array_equal(model.predict(X), np.argmax(model.outputs(X), axis=1))


def rewrite(path, change_meta=None, change_arrays=None):
    arrays, meta = load_arrays(path)
    if change_meta:
        change_meta(meta)
    if change_arrays:
        change_arrays(arrays)
    save_arrays(path, arrays, meta)


@pytest.mark.parametrize(
    "change_meta, change_arrays, message",
    [
        (lambda m: m.update(version=99), None, "version 99 is not supported"),
        (lambda m: m.update(format="something"), None, "not a bpnn model"),
        (
            None,
            lambda a: a.update(W0=np.zeros((4, 6))),
            "W0 has shape \\(4, 6\\), the architecture needs \\(5, 6\\)",
        ),
        (None, lambda a: a.pop("b1"), "missing array b1"),
        (None, lambda a: a.update(b0=np.full(5, np.nan)), "NaN"),
        (lambda m: m["network"].update(activation="swish"), None, "unknown activation"),
    ],
)
def test_bad_model_files_give_clear_errors(tmp_path, change_meta, change_arrays, message):
    path = tmp_path / "model.npz"
    bpnn.modelfile.save_model(path, small_net())
    rewrite(path, change_meta, change_arrays)
    with pytest.raises(FormatError, match=message):
        bpnn.load(path)


@pytest.mark.parametrize("content", [b"", b"hello, not a zip", None])
def test_not_a_model_file(tmp_path, content):
    path = tmp_path / "model.npz"
    if content is None:  # a real npz, but made by someone else (no metadata)
        np.savez(path, W0=np.zeros(3))
    else:
        path.write_bytes(content)
    with pytest.raises(FormatError, match="not a bpnn file"):
        bpnn.load(path)


def test_truncated_model_file(tmp_path):
    path = tmp_path / "model.npz"
    bpnn.modelfile.save_model(path, small_net())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError):
        bpnn.load(path)


def test_missing_file(tmp_path):
    with pytest.raises(FormatError, match="no such file"):
        bpnn.load(tmp_path / "nothing.npz")


def test_pickled_arrays_are_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(
        path,
        __meta__=np.array(json.dumps({"format": "bpnn-model"})),
        W0=np.array([{"a": 1}], dtype=object),
    )
    with pytest.raises(FormatError):
        bpnn.load(path)


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "file.bin"
    path.write_bytes(b"old")

    def broken(f):
        f.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(path, broken)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.bin"]


@pytest.mark.parametrize("name", ["__meta__", "file", "allow_pickle"])
def test_reserved_array_names_are_refused(tmp_path, name):
    # np.savez took an array named allow_pickle as its flag and dropped it
    with pytest.raises(ValueError, match=f"array name '{name}' is reserved"):
        save_arrays(tmp_path / "x.npz", {name: np.zeros(1)}, {})
