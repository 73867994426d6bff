"""``bpnn gradcheck``: every activation x loss for both engines, JSON and table, exit status."""

from __future__ import annotations

import itertools
import json

import pytest

from bpnn.activations import LeakyReLU
from bpnn.cli import main
from bpnn.commands.gradcheck import HIDDEN, NETS, OUTPUTS


def run_json(capsys, *args) -> tuple[int, dict]:
    code = main(["gradcheck", "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def test_json_covers_every_case_and_passes(capsys):
    code, out = run_json(capsys)
    assert code == 0 and out["passed"] is True
    assert out["eps"] == 1e-5 and out["threshold"] == 1e-6
    cases = out["cases"]
    assert len(cases) == len(NETS) * len(HIDDEN) * len(OUTPUTS) * 3
    seen = {(c["engine"], c["dropout"] > 0, c["hidden"], c["output"], c["loss"]) for c in cases}
    for hidden, (output, loss) in itertools.product(HIDDEN, OUTPUTS):
        for engine, dropout in (("vectorised", False), ("vectorised", True), ("object", False)):
            assert (engine, dropout, hidden, output, loss) in seen
    assert {tuple(c["sizes"]) for c in cases} == set(NETS)
    for c in cases:
        assert c["passed"] and 0 <= c["max_rel_error"] <= 1e-6, c
    assert out["max_rel_error"] == max(c["max_rel_error"] for c in cases)


def test_table_output(capsys):
    assert main(["gradcheck", "--seed", "3"]) == 0
    text = capsys.readouterr().out
    assert "max rel error" in text and "leaky_relu" in text and "object" in text
    n_cases = len(NETS) * len(HIDDEN) * len(OUTPUTS) * 3
    assert f"{n_cases} cases" in text and "all passed" in text


def test_exit_status_1_when_a_case_fails(capsys):
    code, out = run_json(capsys, "--threshold", "1e-15")
    assert code == 1 and out["passed"] is False


def test_a_broken_derivative_fails_the_command(capsys, monkeypatch):
    monkeypatch.setattr(
        LeakyReLU, "derivative", lambda self, y: (y > 0).astype(y.dtype)
    )  # forgets the slope alpha
    code, out = run_json(capsys)
    assert code == 1
    failed = {c["hidden"] for c in out["cases"] if not c["passed"]}
    assert failed == {"leaky_relu"}


def test_bad_options_exit_2(capsys):
    assert main(["gradcheck", "--eps", "0"]) == 2
    assert "--eps must be positive" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["gradcheck", "--eps", "abc"])
