"""The tutorial's toy problems learn to 100% with both engines: XOR and the 8-3-8 encoder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bpnn.cli import main
from bpnn.commands.demo import ENCODER, XOR, train_objects, train_vectorised


def test_problem_data():
    assert XOR.sizes == [2, 4, 1] and ENCODER.sizes == [8, 3, 8]
    np.testing.assert_array_equal(ENCODER.X, np.eye(8))
    assert set(np.unique(ENCODER.T)) == {0.1, 0.9}
    assert XOR.T[:, 0].tolist() == [0.1, 0.9, 0.9, 0.1]
    assert XOR.correct(XOR.T) == 4 and XOR.correct(1 - XOR.T) == 0
    assert ENCODER.correct(ENCODER.T) == 8 and ENCODER.correct(np.roll(ENCODER.T, 1, axis=1)) == 0


@pytest.mark.parametrize("problem", [XOR, ENCODER], ids=lambda p: p.name)
def test_vectorised_engine_learns(problem):
    net = train_vectorised(problem, seed=0)
    assert problem.correct(net.predict(problem.X)) == len(problem.X)


@pytest.mark.parametrize("problem", [XOR, ENCODER], ids=lambda p: p.name)
def test_object_engine_learns_the_same(problem):
    onet = train_objects(problem, seed=0)
    assert problem.correct(onet.predict(problem.X)) == len(problem.X)
    # The two engines trained identically (same start, same algorithm).
    for a, b in zip(train_vectorised(problem, seed=0).params(), onet.params()):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-10)


def test_untrained_network_is_not_already_right():
    # Guards against a "correct" count that cannot fail.
    from bpnn import Network

    net = Network(ENCODER.sizes, init="xavier", seed=0)
    assert ENCODER.correct(net.predict(ENCODER.X)) < 8


def test_demo_command_json(capsys):
    assert main(["demo", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    by_name = {p["problem"]: p for p in out["problems"]}
    assert set(by_name) == {"xor", "encoder-8-3-8"}
    for p in by_name.values():
        assert p["vectorised"]["correct"] == p["object"]["correct"] == p["samples"]
        assert p["max_weight_difference"] < 1e-10
    code = by_name["encoder-8-3-8"]["hidden_code"]
    assert len(code) == 8 and all(len(row) == 3 for row in code)
