"""benchmarks/tabular_suite.py end to end on scikit-learn's bundled diabetes table (the other
tables need the bench extra), and its candidate syntax."""

from __future__ import annotations

import json

import pytest

from conftest import benchmark_module

pytest.importorskip("pandas")
pytest.importorskip("sklearn")


@pytest.fixture
def suite(monkeypatch, tmp_path):
    monkeypatch.setenv("BPNN_BENCH_CACHE", str(tmp_path / "cache"))
    return benchmark_module(monkeypatch, "tabular_suite", "tabular_data")


def test_candidates_parse(suite):
    label, settings = suite.parse_candidate("ple:preprocessing=ple;hidden=64,64;dropout=0.1")
    assert label == "ple"
    assert settings == {"preprocessing": "ple", "hidden": [64, 64], "dropout": 0.1}


def test_one_table_end_to_end(suite, tmp_path, capsys):
    out = tmp_path / "r.json"
    suite.main(["--sets", "diabetes", "--candidate", "short:epochs=3", "--json", str(out)])
    table = capsys.readouterr().out
    assert "| diabetes | R^2 | 442 |" in table
    row = json.loads(out.read_text())["diabetes"][0]
    assert set(row) == {"mlp", "hgb", "bpnn", "short"}
    assert all(-5 < r["score"] <= 1 and r["seconds"] > 0 for r in row.values())
    assert all(r["cpu_seconds"] > 0 for r in row.values())  # (CPU time: fair under load)
    assert "CPU" in table
