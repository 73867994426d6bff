"""``bpnn train`` on data that is not MNIST: CSV (XOR, text labels, regression), .npz, 8x8 IDX;
bad CSV files; what the log says; resume refusing shaping options and matching bit for bit."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bpnn.data import write_idx
from conftest import run_cli
from test_any_data import blobs, linear_data, write_csv


def train_json(capsys, data, out, *options):
    """``bpnn train --data DATA --out OUT --no-report --json OPTIONS...``: (code, results, err)."""
    code, stdout, err = run_cli(
        capsys, "train", "--data", data, "--out", out, "--no-report", "--json", *options
    )
    return code, json.loads(stdout) if code == 0 else None, err


@pytest.fixture
def xor_csv(tmp_path):
    return write_csv(
        tmp_path / "xor.csv", ["a", "b", "xor"], [[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 0]]
    )


@pytest.fixture
def iris_like_csv(tmp_path):
    X, y = blobs(240, np.random.default_rng(5))
    return write_csv(
        tmp_path / "flowers.csv",
        ["length", "width", "species"],
        [[f"{a:.4f}", f"{b:.4f}", c] for (a, b), c in zip(X, y)],
    )


@pytest.fixture
def regression_csv(tmp_path):
    X, y = linear_data(800, np.random.default_rng(6))
    return write_csv(
        tmp_path / "line.csv",
        ["x0", "target", "x1"],
        [[f"{a:.5f}", f"{t:.5f}", f"{b:.5f}"] for (a, b), t in zip(X, y)],
    )


def test_xor_from_csv(xor_csv, tmp_path, capsys):
    code, result, err = train_json(
        capsys,
        xor_csv,
        tmp_path / "run",
        "--test",
        xor_csv,
        "--hidden",
        "8",
        "--activation",
        "tanh",
        "--lr",
        "0.05",
        "--epochs",
        "400",
    )
    assert code == 0, err
    assert result["task"] == "classify" and result["test_error"] == 0.0
    assert "selecting on the training set" in err  # 4 samples: no validation split


def test_text_labels_train_evaluate(iris_like_csv, tmp_path, capsys):
    code, result, err = train_json(capsys, iris_like_csv, tmp_path / "run", "--epochs", "60")
    assert code == 0, err
    assert result["test_error"] <= 0.03 and result["test_samples"] == 48  # 20% held out
    for line in (
        "task classify; layers 32-100-3; hidden relu, output softmax, loss cross_entropy",
        "optimizer adam lr 0.001",
        "preprocessing: ple (2 features x 16",  # the tabular default
        "test set: 48 samples held out",
        "classify: 3 classes (setosa, versicolor, virginica)",
    ):
        assert line in err
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["layers"] == [32, 100, 3] and config["preprocessing"]["kind"] == "ple"
    assert config["targets"]["classes"] == ["setosa", "versicolor", "virginica"]
    code, out, err = run_cli(capsys, "evaluate", tmp_path / "run", "--json")
    assert code == 0, err
    ev = json.loads(out)
    assert ev["samples"] == 48 and ev["classes"] == ["setosa", "versicolor", "virginica"]
    assert abs(ev["error_rate"] - result["test_error"]) < 1e-12
    code, out, err = run_cli(capsys, "evaluate", tmp_path / "run")
    assert code == 0 and "versicolor" in out


def test_regression_from_csv_reaches_stated_rmse(regression_csv, tmp_path, capsys):
    code, result, err = train_json(
        capsys,
        regression_csv,
        tmp_path / "run",
        "--target",
        "target",
        "--hidden",
        "32",
        "--epochs",
        "150",
    )
    assert code == 0, err
    assert (
        result["task"] == "regress" and result["test_error"] < 0.1 and result["test_r2"][0] > 0.99
    )
    assert "regress: 1 value(s) per sample, targets standardized" in err
    code, out, err = run_cli(capsys, "evaluate", tmp_path / "run", "--json")
    ev = json.loads(out)
    assert code == 0 and abs(ev["rmse"][0] - result["test_error"]) < 1e-9 and ev["r2"][0] > 0.99
    assert ev["target_names"] == ["target"]
    code, out, err = run_cli(capsys, "evaluate", tmp_path / "run")
    rows = out.splitlines()
    assert code == 0 and rows[1].split()[0] == "target" and rows[2].split()[0] == "target", out


def test_npz_source(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X, y = blobs(300, rng)
    Xt, yt = blobs(60, rng)
    np.savez(tmp_path / "d.npz", X_train=X, y_train=y, X_test=Xt, y_test=yt)
    code, result, err = train_json(capsys, tmp_path / "d.npz", tmp_path / "run", "--epochs", "30")
    assert code == 0, err
    assert result["test_samples"] == 60


def test_8x8_idx_folder_trains(tmp_path, capsys):
    from sklearn.datasets import load_digits

    d = load_digits()
    order = np.random.default_rng(0).permutation(len(d.target))  # the last writers differ: shuffle
    images, labels = (
        (d.images[order] * 255 / 16).round().astype(np.uint8),
        d.target[order].astype(np.uint8),
    )
    for prefix, part in (("train", slice(0, 1500)), ("t10k", slice(1500, None))):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", images[part])
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", labels[part])
    code, result, err = train_json(capsys, tmp_path, tmp_path / "run", "--epochs", "30")
    assert code == 0, err
    assert result["test_error"] < 0.05
    assert "layers 64-300-10" in err and "scale x0.00392157" in err


@pytest.mark.parametrize(
    "rows, message",
    [
        ([["1", "2", "a"], ["1", "inf", "b"]], "column 'f1'"),  # an infinite feature
        ([["1", "2", "a"], ["1", "2"]], "line 3"),  # a ragged row
    ],
)
def test_bad_csv_is_one_line(tmp_path, capsys, rows, message):
    path = write_csv(tmp_path / "bad.csv", ["f0", "f1", "label"], rows * 10)
    code, out, err = run_cli(capsys, "train", "--data", path, "--out", tmp_path / "run")
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and message in lines[0] and "Traceback" not in err


def test_layers_that_do_not_fit_name_the_data(iris_like_csv, tmp_path, capsys):
    code, out, err = run_cli(
        capsys, "train", "--data", iris_like_csv, "--layers", "2,100", "--out", tmp_path / "run"
    )
    assert code == 2 and "layers 2,100 does not fit" in err and "2 features and 3 classes" in err


def test_huge_batch_size_is_the_whole_split(tiny_mnist_dir, tmp_path, capsys):
    code, result, err = train_json(
        capsys,
        tiny_mnist_dir,
        tmp_path / "run",
        "--batch-size",
        "1000000000",
        "--limit",
        "200",
        "--epochs",
        "2",
    )
    assert code == 0, err


def test_no_preset_means_documented_defaults_not_fast(tiny_mnist_dir, tmp_path, capsys):
    code, out, err = run_cli(
        capsys,
        "train",
        "--data",
        tiny_mnist_dir,
        "--hidden",
        "30",
        "--activation",
        "sigmoid",
        "--loss",
        "squared",
        "--lr",
        "3",
        "--batch-size",
        "10",
        "--epochs",
        "1",
        "--out",
        tmp_path / "run",
        "--no-report",
    )
    assert code == 0, err
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (
        config["preset"] is None and config["loss"] == "squared" and config["output"] == "sigmoid"
    )
    assert config["schedule"] == "constant" and config["layers"] == [784, 30, 10]
    assert "output sigmoid, loss squared" in out


def test_resume_refuses_shaping_options_and_matches(regression_csv, tmp_path, capsys):
    common = [
        "--data",
        regression_csv,
        "--target",
        "target",
        "--hidden",
        "8",
        "--batch-size",
        "16",
        "--no-report",
        "--json",
    ]
    assert run_cli(capsys, "train", "--out", tmp_path / "a", "--epochs", 4, *common)[0] == 0
    assert run_cli(capsys, "train", "--out", tmp_path / "b", "--epochs", 2, *common)[0] == 0
    code, out, err = run_cli(capsys, "train", "--resume", tmp_path / "b", "--limit", "100")
    assert code == 2 and "--limit cannot be given with --resume" in err
    code, out, err = run_cli(capsys, "train", "--resume", tmp_path / "b", "--lr", "0.5")
    assert code == 2 and "--lr" in err
    code, out, err = run_cli(capsys, "train", "--resume", tmp_path / "b", "--epochs", 4, "--json")
    assert code == 0, err
    with np.load(tmp_path / "a" / "model.npz") as a, np.load(tmp_path / "b" / "model.npz") as b:
        for key in a.files:
            if key != "__meta__":
                np.testing.assert_array_equal(a[key], b[key])
    history = json.loads((tmp_path / "b" / "history.json").read_text())
    assert history["changes"] == [{"from_epoch": 3, "epochs": 4}]


def test_resume_refuses_changed_data(regression_csv, tmp_path, capsys):
    assert (
        run_cli(
            capsys,
            "train",
            "--data",
            regression_csv,
            "--target",
            "target",
            "--epochs",
            1,
            "--out",
            tmp_path / "a",
            "--no-report",
        )[0]
        == 0
    )
    regression_csv.write_text(regression_csv.read_text().replace("0.", "1.", 1))
    code, out, err = run_cli(capsys, "train", "--resume", tmp_path / "a", "--epochs", 2)
    assert code == 2 and "checksum" in err
