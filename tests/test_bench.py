"""``bpnn bench`` (bpnn's own paths) and the comparison harness in ``benchmarks/``, on a tiny
synthetic MNIST: both run end to end, and their JSON holds what their tables show."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

from bpnn.cli import main

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
BPNN_ROWS = {
    "bpnn per-sample SGD",
    "bpnn mini-batch",
    "bpnn reference NumPy per-sample",
    "bpnn reference NumPy mini-batch",
}


@pytest.fixture
def bench_script(monkeypatch):
    """``benchmarks/bench.py`` imported as a module (its harness beside it)."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    for name in ("bench", "harness"):
        sys.modules.pop(name, None)
    yield importlib.import_module("bench")
    for name in ("bench", "harness"):
        sys.modules.pop(name, None)


def test_bpnn_bench_times_its_own_paths(tiny_mnist_dir, tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = main(["bench", "--quick", "--data", str(tiny_mnist_dir), "--json", "--out", str(out)])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    assert {r["name"] for r in printed["results"]} == BPNN_ROWS
    assert printed["training_images"] == 240
    for r in printed["results"]:
        assert r["seconds_per_epoch"] > 0 and r["path"]
        assert r["extrapolated"] == (r["samples_timed"] < 240)
    paths = {r["name"]: r["path"] for r in printed["results"]}
    assert paths["bpnn reference NumPy mini-batch"] == "numpy"


def test_bpnn_bench_table_points_to_the_comparison(tiny_mnist_dir, capsys):
    assert main(["bench", "--quick", "--data", str(tiny_mnist_dir)]) == 0
    text = capsys.readouterr().out
    assert "bpnn mini-batch" in text and "benchmarks/bench.py" in text
    assert "PyTorch" not in text.splitlines()[0]


def test_bpnn_bench_refuses_zero_epochs(tiny_mnist_dir, capsys):
    assert main(["bench", "--epochs", "0", "--data", str(tiny_mnist_dir)]) == 2
    assert "--epochs must be >= 1" in capsys.readouterr().err


def test_harness_compares_bpnn_with_its_peers(bench_script, tiny_mnist_dir, tmp_path, capsys):
    out = tmp_path / "bench.json"
    argv = ["--quick", "--data", str(tiny_mnist_dir), "--json", "--out", str(out)]
    assert bench_script.main(argv + ["--no-torch", "--no-memory"]) == 0
    printed = json.loads(capsys.readouterr().out)
    saved = json.loads(out.read_text())
    assert printed["results"] == saved["results"]
    names = {r["name"] for r in saved["results"]}
    assert BPNN_ROWS | {"tutorial-style NumPy loop"} <= names
    assert "PyTorch mini-batch" not in names
    for r in saved["results"]:
        assert r["seconds_per_epoch"] > 0 and r["gflops"] > 0
    assert saved["matmul_gflops"] > 0
    assert "per-sample / tutorial-style loop" in saved["ratios"]


def test_harness_table_and_ratios(bench_script):
    harness = sys.modules["harness"]
    rows = [
        {"name": "bpnn mini-batch", "seconds_per_epoch": 1.0},
        {"name": "PyTorch mini-batch", "seconds_per_epoch": 4.0},
    ]
    assert harness.ratios(rows) == {"mini-batch / torch mini-batch": 0.25}
    report = {"ratios": {"mini-batch / torch mini-batch": 0.25}, "peak_rss_mb": {"fast": 500.0}}
    assert harness.targets(report) == {
        "mini-batch / torch mini-batch <= 0.5": True,
        "peak RSS fast <= 400 MB": False,
    }
    # 784-300-10: 4 flops per weight and 2 per hidden-to-output weight, per sample
    assert harness.epoch_flops((784, 300, 10), 1) == 4 * (784 * 300 + 300 * 10) + 2 * 300 * 10
