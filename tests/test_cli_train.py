"""The command line end to end on a tiny synthetic MNIST: train, resume, evaluate, info, errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from conftest import run_cli

TINY = ["--layers", "784,24,10", "--epochs", "3", "--val-size", "40", "--no-report"]


def test_train_json_evaluate_info(tiny_mnist_dir, tmp_path, capsys):
    out_dir = tmp_path / "run"
    code, out, err = run_cli(
        capsys, "train", "--data", tiny_mnist_dir, "--out", out_dir, "--json", *TINY
    )
    assert code == 0, err
    result = json.loads(out)
    assert {"test_error", "epochs", "seconds", "model"} <= set(result)
    assert result["epochs"] == 3 and result["test_error"] < 0.2  # ten easy classes
    history = json.loads((out_dir / "history.json").read_text())
    assert [r["epoch"] for r in history["epochs"]] == [1, 2, 3]

    code, out, err = run_cli(
        capsys, "evaluate", result["model"], "--data", tiny_mnist_dir, "--json"
    )
    assert code == 0, err
    ev = json.loads(out)
    assert ev["samples"] == 60 and abs(ev["error_rate"] - result["test_error"]) < 1e-12
    cm = np.array(ev["confusion_matrix"])
    assert cm.shape == (10, 10) and cm.sum() == 60
    assert ev["errors"] == cm.sum() - np.trace(cm)

    code, out, err = run_cli(capsys, "info", result["model"], "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["parameters"] == 784 * 24 + 24 + 24 * 10 + 10
    assert (
        info["training"]["preset"] is None and info["results"]["test_error"] == result["test_error"]
    )

    code, out, err = run_cli(capsys, "info", result["model"])
    assert code == 0 and "784-24-10" in out and "19,090 parameters" in out


def test_resume_cli_matches_uninterrupted(tiny_mnist_dir, tmp_path, capsys):
    common = [
        "--data",
        tiny_mnist_dir,
        "--layers",
        "784,24,10",
        "--schedule",
        "constant",
        "--val-size",
        "40",
        "--no-report",
        "--json",
    ]
    assert run_cli(capsys, "train", "--out", tmp_path / "a", "--epochs", 4, *common)[0] == 0
    assert run_cli(capsys, "train", "--out", tmp_path / "b", "--epochs", 2, *common)[0] == 0
    code, out, err = run_cli(
        capsys, "train", "--resume", tmp_path / "b", "--epochs", 4, "--json", "--no-report"
    )
    assert code == 0, err
    with np.load(tmp_path / "a" / "model.npz") as a, np.load(tmp_path / "b" / "model.npz") as b:
        for key in a.files:
            if key != "__meta__":
                np.testing.assert_array_equal(a[key], b[key])


def test_refuses_to_overwrite_a_saved_run(tiny_mnist_dir, tmp_path, capsys):
    args = [
        "train",
        "--data",
        tiny_mnist_dir,
        "--out",
        tmp_path,
        "--epochs",
        1,
        "--layers",
        "784,8,10",
        "--val-size",
        40,
        "--no-report",
    ]
    assert run_cli(capsys, *args)[0] == 0
    before = (tmp_path / "model.npz").read_bytes()
    code, out, err = run_cli(capsys, *args)
    assert code == 2 and "already holds a run" in err and "--resume" in err
    assert (tmp_path / "model.npz").read_bytes() == before


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--lr", "-1"], "lr must be a positive number"),
        (["train", "--layers", "784,a,10"], "comma-separated"),
        (["train", "--layers", "100,10"], "784 features and 10 classes"),
        (["train", "--loss", "hinge"], "unknown loss"),
        (["train", "--activation", "swish"], "activation must be one of"),
        (["train", "--batch-size", "0"], "batch-size must be"),
        (["train", "--resume", "{tmp}/nothing"], "no checkpoint"),
        (["evaluate", "{tmp}/missing.npz"], "no such file"),
        (["info", "{tmp}/garbage.npz"], "not a bpnn file"),
    ],
)
def test_user_errors_are_one_line_exit_2(tiny_mnist_dir, tmp_path, capsys, argv, message):
    (tmp_path / "garbage.npz").write_text("not a model")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if argv[0] == "train" and "--resume" not in argv:
        argv += ["--data", str(tiny_mnist_dir), "--out", str(tmp_path / "run"), "--val-size", "40"]
    else:
        argv += ["--data", str(tiny_mnist_dir)] if argv[0] == "evaluate" else []
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in err


def test_missing_data_folder_is_one_line(tmp_path, capsys):
    code, out, err = run_cli(
        capsys, "train", "--data", tmp_path / "empty", "--out", tmp_path / "run"
    )
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "no such file, folder or registered" in err and ".csv" in err


def test_python_dash_m_entry_point(tiny_mnist_dir, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "bpnn", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "train" in proc.stdout and "gradcheck" in proc.stdout


@pytest.mark.slow
def test_full_mnist_small_preset_reaches_97_percent(mnist_dir, tmp_path, capsys):
    code, out, err = run_cli(
        capsys,
        "train",
        "--preset",
        "fast",
        "--data",
        mnist_dir,
        "--out",
        tmp_path,
        "--layers",
        "784,100,10",
        "--epochs",
        "3",
        "--json",
        "--no-report",
    )
    assert code == 0, err
    assert json.loads(out)["test_error"] <= 0.03


@pytest.mark.parametrize("augment", ["0", "2"])
def test_ctrl_c_saves_a_checkpoint_that_resume_finishes(tiny_mnist_dir, tmp_path, augment):
    """A real SIGINT to a real ``bpnn train``: exit 130 with a checkpoint (mid-epoch, most
    likely), and ``--resume`` ends with the same weights as a run never interrupted."""
    train = [
        sys.executable,
        "-m",
        "bpnn",
        "train",
        "--data",
        str(tiny_mnist_dir),
        "--layers",
        "784,128,10",
        "--batch-size",
        "1",
        "--epochs",
        "20",
        "--patience",
        "1000",
        "--schedule",
        "constant",
        "--val-size",
        "40",
        "--augment",
        augment,
        "--no-report",
    ]
    whole = subprocess.run(
        train + ["--out", str(tmp_path / "whole")], capture_output=True, text=True, timeout=300
    )
    assert whole.returncode == 0, whole.stderr
    cut = tmp_path / "cut"
    proc = subprocess.Popen(
        train + ["--out", str(cut)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    for line in proc.stdout:  # the epoch lines: training is under way after the third
        if line.startswith("epoch   3"):
            break
    proc.send_signal(signal.SIGINT)
    output = proc.stdout.read()
    assert proc.wait(timeout=60) == 130, output
    assert "interrupted" in output and "Traceback" not in output
    assert (cut / "checkpoint.npz").is_file() and not (cut / "model.npz").exists()
    resumed = subprocess.run(
        [sys.executable, "-m", "bpnn", "train", "--resume", str(cut), "--no-report"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    with np.load(tmp_path / "whole" / "model.npz") as a, np.load(cut / "model.npz") as b:
        for key in a.files:
            if key != "__meta__":
                np.testing.assert_array_equal(a[key], b[key], err_msg=key)
