"""Hostile model files and checkpoints: every one is refused in one line, cheaply, before any large
allocation; nonsense values are refused instead of passing silently."""

from __future__ import annotations

import io
import json
import time
import zipfile

import numpy as np
import pytest

import bpnn
from bpnn.cli import main
from bpnn.errors import FormatError
from bpnn.modelfile import load_arrays
from test_checkpoint import rewrite


def one_line(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    return code, lines


@pytest.fixture
def model_file(tmp_path):
    net = bpnn.Network([6, 5, 3], activation="tanh", loss="cross_entropy", dtype=np.float32, seed=1)
    path = tmp_path / "model.npz"
    bpnn.modelfile.save_model(path, net, {"results": {"test_error": 0.5}})
    return path


def add_member(path, name, data: bytes, compress=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "a", compression=compress) as z:
        z.writestr(name, data)


def test_huge_declared_architecture_is_refused_before_building(model_file):
    rewrite(model_file, lambda m: m["network"].update(sizes=[6, 1_000_000, 1_000_000, 3]))
    start = time.perf_counter()
    with pytest.raises(FormatError, match="more than a file of its size can hold|out of range"):
        bpnn.load(model_file)
    assert time.perf_counter() - start < 2


def npy_with_shape(shape) -> bytes:
    """A .npy header declaring ``shape`` of float32, followed by only 64 bytes of data."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f4", "fortran_order": False, "shape": shape}
    )
    return buf.getvalue() + b"\0" * 64


def test_zip_bomb_member_is_never_inflated(model_file):
    add_member(
        model_file, "extra.npy", npy_with_shape((1,)) + b"\0" * (500 << 20), zipfile.ZIP_DEFLATED
    )
    start = time.perf_counter()
    assert bpnn.load(model_file).net.sizes == [6, 5, 3]  # a model reads only W* and b*
    with pytest.raises(FormatError, match="zip bomb"):  # a checkpoint reader reads all, checked
        load_arrays(model_file)
    assert time.perf_counter() - start < 5


def test_member_declaring_a_huge_shape_is_refused(model_file):
    add_member(model_file, "big.npy", npy_with_shape((100_000, 100_000)))
    with pytest.raises(FormatError, match="declares shape"):
        load_arrays(model_file)


@pytest.mark.parametrize(
    "bad", [np.array(["a", "b"]), np.zeros(2, dtype=[("x", "f4"), ("y", "i4")])]
)
def test_string_or_structured_arrays_are_refused(model_file, bad):
    rewrite(model_file, change_arrays=lambda a: a.update(b0=bad))
    with pytest.raises(FormatError, match="not a plain numeric array"):
        bpnn.load(model_file)


def test_deeply_nested_metadata_is_refused(model_file):
    arrays, meta = load_arrays(model_file)
    text = json.dumps({**meta, "results": {"x": 1}}).replace('{"x": 1}', "[" * 3000 + "]" * 3000)
    with open(model_file, "wb") as f:
        np.savez(f, **arrays, __meta__=np.array(text))
    with pytest.raises(FormatError, match="metadata"):
        bpnn.load(model_file)


def test_float64_weights_that_overflow_float32_are_refused(model_file):
    rewrite(model_file, change_arrays=lambda a: a.update(W0=a["W0"].astype(np.float64) * 1e300))
    with pytest.raises(FormatError, match="NaN or infinite values .as float32"):
        bpnn.load(model_file)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m.update(preprocessing=[1, 2]), "preprocessing"),
        (lambda m: m.update(config="fast"), "config"),
        (lambda m: m.update(results=3), "results"),
        (lambda m: m["preprocessing"].update(scale=float("nan")), "scale"),
        (lambda m: m["preprocessing"].update(scale=-1), "scale"),
        (lambda m: m.update(targets={"task": "classify", "classes": [1, 2]}), "classes"),
    ],
)
@pytest.mark.parametrize("command", ["info", "evaluate", "predict", "report"])
def test_wrong_metadata_is_one_line_in_every_command(
    model_file, tmp_path, capsys, change, message, command
):
    rewrite(model_file, change)
    argv = {
        "info": ["info", model_file],
        "evaluate": ["evaluate", model_file, "--data", tmp_path],
        "predict": ["predict", model_file, "--rows", tmp_path / "rows.npy"],
        "report": ["report", model_file],
    }[command]
    np.save(tmp_path / "rows.npy", np.zeros((2, 6)))
    code, lines = one_line(capsys, *argv)
    assert code == 2 and len(lines) == 1 and "Traceback" not in lines[0]


def test_save_model_with_swapped_arguments_says_so(tmp_path):
    net = bpnn.Network([2, 2])
    with pytest.raises(TypeError, match="takes a path and a Network"):
        bpnn.modelfile.save_model(net, tmp_path / "m.npz")


def test_broken_checkpoint_metadata_on_resume_is_one_line(tmp_path, capsys):
    X = np.random.default_rng(0).random((60, 3))
    bpnn.fit(X, (X[:, 0] > 0.5).astype(int), out=tmp_path / "run", epochs=1, test_fraction=0)
    rewrite(tmp_path / "run" / "checkpoint.npz", lambda m: m.update(config={"lr": "fast"}))
    np.savez(tmp_path / "d.npz", X_train=X, y_train=(X[:, 0] > 0.5).astype(int))
    rewrite(
        tmp_path / "run" / "checkpoint.npz",
        lambda m: m.update(data={"source": str(tmp_path / "d.npz")}),
    )
    code, lines = one_line(capsys, "train", "--resume", tmp_path / "run")
    assert code == 2 and len(lines) == 1 and "broken checkpoint settings" in lines[0]


def test_diverging_before_the_first_checkpoint_leaves_no_run_folder(tmp_path):
    X = np.random.default_rng(0).random((200, 3)) * 1e3
    y = X.sum(axis=1)
    with pytest.raises(bpnn.train.DivergenceError, match="no checkpoint was saved before it"):
        bpnn.fit(
            X,
            y,
            task="regress",
            out=tmp_path / "run",
            lr=1e30,
            optimizer="sgd",
            preprocessing="none",
            target_scaling="none",
            epochs=3,
        )
    assert not (tmp_path / "run").exists()


def test_info_takes_a_run_folder(tmp_path, capsys):
    X = np.random.default_rng(0).random((60, 3))
    y = (X[:, 0] > 0.5).astype(int)
    bpnn.fit(X, y, out=tmp_path / "run", epochs=1, preprocessing="standardize")
    code = main(["info", str(tmp_path / "run"), "--json"])
    assert code == 0 and json.loads(capsys.readouterr().out)["layers"][0] == 3
